//! The styled PNG's rows go through the plain writer's row matcher ([`crate::render::lz`]): a
//! stamped raster repeats the same bytes at the same column of the rows above and in runs, as
//! a plain one does.

pub(crate) use crate::render::lz::Matcher;
