//! The permission manifest inside a component: a custom section at the
//! component's top level (custom sections of nested modules are the
//! guest's own business and are never read).

use super::{Manifest, PermissionsError};
use std::ops::Range;
use wasm_encoder::ComponentSection;
use wasmparser::{Parser, Payload};

/// The custom section's name.
pub const SECTION: &str = "factory:permissions";

/// The manifest embedded in `component`, if it has one. More than one
/// such section is refused: which one would count would be a guess.
pub fn embedded(component: &[u8]) -> Result<Option<Manifest>, PermissionsError> {
    let found = top_level_sections(component)?;
    match found.as_slice() {
        [] => Ok(None),
        [(_, data)] => {
            let text = std::str::from_utf8(&component[data.clone()])
                .map_err(|_| PermissionsError::Section("it is not UTF-8 text".into()))?;
            Manifest::parse(text, &format!("the `{SECTION}` section")).map(Some)
        }
        more => Err(PermissionsError::Section(format!(
            "the component has {} of them; it may have one",
            more.len()
        ))),
    }
}

/// `component` with `manifest` as its permission section, replacing any it
/// had. The code is untouched: custom sections carry no semantics.
pub fn embed(component: &[u8], manifest: &Manifest) -> Result<Vec<u8>, PermissionsError> {
    let found = top_level_sections(component)?;
    let mut out = Vec::with_capacity(component.len() + 256);
    let mut at = 0;
    for (whole, _) in &found {
        out.extend_from_slice(&component[at..whole.start]);
        at = whole.end;
    }
    out.extend_from_slice(&component[at..]);
    let text = manifest.to_toml();
    if !text.is_empty() {
        wasm_encoder::CustomSection {
            name: SECTION.into(),
            data: text.as_bytes().into(),
        }
        .append_to_component(&mut out);
    }
    Ok(out)
}

/// A section's whole extent and its data's.
type Found = (Range<usize>, Range<usize>);

/// Each top-level permission section: its whole extent (id, size, name
/// and data) and its data's.
fn top_level_sections(component: &[u8]) -> Result<Vec<Found>, PermissionsError> {
    let mut depth = 0usize;
    let mut found = Vec::new();
    for payload in Parser::new(0).parse_all(component) {
        let payload = payload.map_err(|e| PermissionsError::NotComponent(e.to_string()))?;
        match payload {
            Payload::Version { encoding, .. }
                if depth == 0 && encoding != wasmparser::Encoding::Component =>
            {
                return Err(PermissionsError::NotComponent(
                    "this is a core module; permissions go in a component".into(),
                ));
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::CustomSection(r) if depth == 0 && r.name() == SECTION => {
                let (start, end) = (r.range().start as usize, r.range().end as usize);
                let body = start..end;
                found.push((
                    section_start(component, &body)?..end,
                    r.data_offset() as usize..end,
                ));
            }
            _ => {}
        }
    }
    Ok(found)
}

/// Where the section whose contents are `body` begins: its id byte (0) and
/// the LEB128 size right before the contents, checked rather than assumed.
fn section_start(component: &[u8], body: &Range<usize>) -> Result<usize, PermissionsError> {
    let size = body.len();
    for leb_len in 1..=5usize {
        let Some(start) = body.start.checked_sub(leb_len + 1) else {
            break;
        };
        if component[start] != 0 {
            continue;
        }
        let mut r = wasmparser::BinaryReader::new(&component[start + 1..body.start], 0);
        if r.read_var_u32().ok() == Some(size as u32) && r.eof() {
            return Ok(start);
        }
    }
    Err(PermissionsError::Section(
        "cannot find where the section begins".into(),
    ))
}
