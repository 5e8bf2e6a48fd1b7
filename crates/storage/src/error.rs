use std::path::PathBuf;
use std::sync::Arc;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in storage. No operation panics; callers turn these into a deny or an
/// internal error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("i/o error on `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("commit failed: {0}")]
    Commit(#[source] Arc<Error>),
    #[error("cannot encode a record for table `{table}`: {message}")]
    Encode {
        table: &'static str,
        message: String,
    },
    #[error("cannot decode record `{key}` of table `{table}`: {message}")]
    Decode {
        table: &'static str,
        key: String,
        message: String,
    },
    #[error("the store is closed")]
    Closed,
    #[error("the store is open read-only")]
    ReadOnly,
    #[error("data directory `{0}` is in use by another process")]
    Locked(PathBuf),
    #[error("invalid root key: {0}")]
    InvalidRootKey(String),
    #[error("the root key does not match the one data directory `{0}` was created with")]
    WrongRootKey(PathBuf),
    #[error("cannot unwrap: the value is malformed or was not wrapped with this key and context")]
    Unwrap,
    #[error("cryptographic operation failed")]
    Crypto,
    #[error("blob `{0}` not found")]
    BlobNotFound(String),
    #[error("blob `{id}` is corrupt: {reason}")]
    BlobCorrupt { id: String, reason: String },
    #[error("range {start}..{end} is outside blob `{id}` of {len} bytes")]
    InvalidRange {
        id: String,
        start: u64,
        end: u64,
        len: u64,
    },
    #[error("invalid blob id `{0}`")]
    InvalidBlobId(String),
    #[error("unsupported database: {0}")]
    Unsupported(String),
    #[error("invalid pagination token")]
    InvalidToken,
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<aws_lc_rs::error::Unspecified> for Error {
    fn from(_: aws_lc_rs::error::Unspecified) -> Error {
        Error::Crypto
    }
}
