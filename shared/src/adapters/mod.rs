//! Adapters: the ports implemented over AWS (production) and over local stand-ins (the
//! one-process mode and tests). Only this module imports AWS SDK types.

pub mod absent;
pub mod aws;
pub mod dynamodb;
pub mod embedded;
pub mod eventbridge;
pub mod folder;
pub mod http;
pub mod local;
pub mod outbox;
pub mod pacing;
pub mod recorder;
pub mod retry;
pub mod s3;
pub mod ses;
pub mod sns;
pub mod sqs;
