// TEMPORARY local stand-in with the agreed signatures; replaced by the real module on merge.
use crate::Services;
use crate::domain::Result;
use crate::domain::resource::Resource;
use serde::{Deserialize, Serialize};
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateSpec {
    pub name: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}
pub type Template = Resource<TemplateSpec>;
pub struct MergeValues {
    pub first_name: String,
    pub contact_name: String,
    pub adviser_name: String,
    pub company_name: String,
    pub link: String,
    pub expires_on: String,
}
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Overrides {
    pub subject: Option<String>,
    pub text: Option<String>,
}
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}
pub fn check_overrides(_t: &TemplateSpec, _o: &Overrides) -> Result<()> {
    Ok(())
}
pub fn render(t: &TemplateSpec, o: &Overrides, v: &MergeValues) -> Result<Rendered> {
    let f = |s: &str| {
        s.replace("{{link}}", &v.link)
            .replace("{{first_name}}", &v.first_name)
    };
    Ok(Rendered {
        subject: f(o.subject.as_deref().unwrap_or(&t.subject)),
        html: f(&t.html),
        text: f(o.text.as_deref().unwrap_or(&t.text)),
    })
}
pub fn default_template() -> TemplateSpec {
    TemplateSpec {
        name: "d".into(),
        subject: "Your invite".into(),
        html: "<p>Hi {{first_name}} <a href=\"{{link}}\">open</a></p>".into(),
        text: "Hi {{first_name}} {{link}}".into(),
    }
}
pub async fn get(svc: &Services, tenant_id: &str, id: &str) -> Result<Template> {
    crate::domain::resource::get(
        svc,
        &crate::ports::Key::new(
            crate::domain::tenants::tenant_pk(tenant_id),
            format!("TPL#{id}"),
        ),
        "template",
    )
    .await
}
