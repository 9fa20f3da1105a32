//! `/v1/contact-roles`: the roles that decide who of a client's contacts receives invoices,
//! reminders and statements.

use clientwatch::domain::roles::RoleSpec;
use clientwatch::records;

tenant_resource!(
    RoleSpec,
    list: records::roles::list,
    create: records::roles::create,
    get: records::roles::get,
    update: records::roles::update,
    delete: records::roles::delete,
);
