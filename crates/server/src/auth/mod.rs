//! Who is calling and what they may do: roles, tokens, passwords, login rate limits and the one
//! policy function ([`policy::authorize`]) every handler goes through.

pub mod policy;
pub mod ratelimit;
pub mod tokens;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The Oz `user_type` values (API ≥ 6.0 spelling, with spaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Role {
    #[serde(rename = "ADMIN")]
    Admin,
    #[serde(rename = "OPERATOR")]
    Operator,
    #[serde(rename = "CLIENT")]
    Client,
    #[serde(rename = "CLIENT ADMIN")]
    ClientAdmin,
    #[serde(rename = "CLIENT OPERATOR")]
    ClientOperator,
    #[serde(rename = "CLIENT SERVICE")]
    ClientService,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Operator,
        Role::Client,
        Role::ClientAdmin,
        Role::ClientOperator,
        Role::ClientService,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Operator => "OPERATOR",
            Role::Client => "CLIENT",
            Role::ClientAdmin => "CLIENT ADMIN",
            Role::ClientOperator => "CLIENT OPERATOR",
            Role::ClientService => "CLIENT SERVICE",
        }
    }

    /// Accepts the Oz spelling and, leniently, underscores and lower case (`client_admin`).
    pub fn parse(s: &str) -> Option<Role> {
        let norm = s.trim().replace('_', " ").to_ascii_uppercase();
        Role::ALL.into_iter().find(|r| r.as_str() == norm)
    }

    /// Roles that belong to a company (ADMIN and OPERATOR belong to none).
    pub fn is_client(self) -> bool {
        !matches!(self, Role::Admin | Role::Operator)
    }

    /// Service accounts get the long-lived token TTL.
    pub fn is_service(self) -> bool {
        self == Role::ClientService
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub company_id: Option<Uuid>,
    pub role: Role,
    pub session_id: Uuid,
}

/// Argon2id password hashing (PHC string with its own salt and parameters).
pub mod passwords {
    use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
    use argon2::Argon2;
    use rand_core::OsRng;

    pub fn hash(password: &str) -> anyhow::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    }

    pub fn verify(password: &str, phc: &str) -> bool {
        match PasswordHash::new(phc) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// A fixed hash to verify against when the account does not exist, so timing does not tell.
    pub fn dummy_verify(password: &str) {
        use std::sync::OnceLock;
        static DUMMY: OnceLock<String> = OnceLock::new();
        let phc = DUMMY.get_or_init(|| hash("not a password").unwrap_or_default());
        let _ = verify(password, phc);
    }
}
