//! `/v1/clients/{id}/opportunities`: a client's loan applications.

use clientwatch::domain::opportunities::OpportunitySpec;
use clientwatch::flows;
use clientwatch::records;

client_resource!(
    OpportunitySpec,
    list: records::opportunities::list,
    create: flows::opportunities::create,
    get: records::opportunities::get,
    update: flows::opportunities::update,
    delete: records::opportunities::delete,
);
