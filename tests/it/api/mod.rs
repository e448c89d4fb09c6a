//! The QR API (`/qr/v1`, `/accesstoken/get`): the published contract, auth, validation, logos, durability.

mod auth;
mod durability;
mod framed;
mod journey;
mod logos;
mod openapi;
mod published;
mod style;
mod validation;
