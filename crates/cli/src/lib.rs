//! The `paygate` package's library: what the binary's commands share and what the tests and the
//! benchmark must run exactly as production does. `config` reads the layered settings, `wiring`
//! opens the store and the app from them, `startup` builds and runs the serving application
//! (`Application`), and `serve` is the `paygate serve` command on top of it.
//!
//! `paygate-testkit` depends on this library and is a dev-dependency of this package; cargo
//! allows that cycle, and this package's integration tests link the one copy testkit uses.

pub mod channels;
pub mod config;
pub mod demo_shop;
pub mod sandbox;
pub mod serve;
pub mod startup;
pub mod wiring;
