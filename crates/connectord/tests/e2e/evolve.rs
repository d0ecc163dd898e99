//! Living with orgs that change under connectord: a My Domain rename, IP restrictions, and a
//! new connectord version that changes the shape of what it creates.

mod ip;
mod rename;
mod upgrade;
