//! The server's view of the one configuration (`fengqiao.toml`, declared in `fengqiao-config`):
//! tokens and roles, limits, hosts, the small-count threshold, the rules and departments its
//! layers, API answers and briefings use.

pub use fengqiao_config::{generate_token, Config, ConfigError, Limits, Role, TokenConfig, MIN_TOKEN_LEN};
