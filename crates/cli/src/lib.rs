//! The `paygate` package's library: what the binary's commands share and what the tests and the
//! benchmark must run exactly as production does. `config` reads the layered settings, `wiring`
//! opens the store and the app from them, `startup` builds and runs the serving application
//! (`Application`), and `serve` is the `paygate serve` command on top of it.

pub mod config;
pub mod serve;
pub mod startup;
pub mod wiring;
