//! `/v1/client-types`: individual or company, and whether its clients may be monitored.

use clientwatch::domain::clients::ClientTypeSpec;
use clientwatch::records;

tenant_resource!(
    ClientTypeSpec,
    list: records::clients::list_types,
    create: records::clients::create_type,
    get: records::clients::get_type,
    update: records::clients::update_type,
    delete: records::clients::delete_type,
);
