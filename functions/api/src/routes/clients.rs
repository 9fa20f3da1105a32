//! `/v1/clients`: clients with their identity, addresses, references and profile sections.

use clientwatch::domain::clients::ClientSpec;
use clientwatch::flows;
use clientwatch::records;

tenant_resource!(
    ClientSpec,
    list: records::clients::list,
    create: flows::clients::create,
    get: records::clients::get,
    update: flows::clients::update,
    delete: flows::clients::delete,
);
