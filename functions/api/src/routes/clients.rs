//! `/v1/clients`: clients with their identity, addresses, references and profile sections.

use clientwatch::domain::clients::{self, ClientSpec};

tenant_resource!(
    ClientSpec,
    list: clients::list,
    create: clients::create,
    get: clients::get,
    update: clients::update,
    delete: clients::delete,
);
