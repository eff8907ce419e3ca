//! Why a local run failed: the user's input or flags, an output, or taxistream itself.

use crate::ports::PortError;
use crate::produce::ProduceError;
use taxistream_core::InputError;

/// Why a local run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run was refused before anything was read or written (no input, outputs that would
    /// overwrite inputs, a missing directory): the user's to fix.
    #[error("{0}")]
    Refused(String),
    /// A check of taxistream's own failed: a bug, not the input's fault.
    #[error("internal error, please report it: {0}")]
    Internal(String),
    /// An input file failed.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The database or the rejects file failed.
    #[error(transparent)]
    Output(#[from] PortError),
}

impl From<ProduceError> for RunError {
    fn from(error: ProduceError) -> Self {
        match error {
            ProduceError::Input(error) => RunError::Input(error),
            ProduceError::Sink(error) | ProduceError::Rejects(error) => RunError::Output(error),
        }
    }
}
