//! The public face of a published chat space: the widget API behind its gate, `widget.js`,
//! the iframe embed and the share page (DESIGN §4, §8).

pub mod api;
pub mod assets;
pub mod gate;
pub mod pages;
