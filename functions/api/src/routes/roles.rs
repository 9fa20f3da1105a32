//! `/v1/contact-roles`: the roles that decide who of a client's contacts receives invoices,
//! reminders and statements.

use clientwatch::domain::roles::{self, RoleSpec};

tenant_resource!(
    RoleSpec,
    list: roles::list,
    create: roles::create,
    get: roles::get,
    update: roles::update,
    delete: roles::delete,
);
