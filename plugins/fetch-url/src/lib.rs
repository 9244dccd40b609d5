use factory_sdk::http::{HttpError, get};
use factory_sdk::{Tool, ToolError, export_tool, failed, invalid};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Input {
    url: String,
    max_bytes: Option<u64>,
}

#[derive(Serialize)]
struct Output {
    url: String,
    status: u16,
    content_type: Option<String>,
    body: String,
}

struct FetchUrl;
impl Tool for FetchUrl {
    const NAME: &'static str = "fetch-url";
    const DESCRIPTION: &'static str = include_str!("../description.txt").trim_ascii();
    const INPUT_SCHEMA: &'static str = include_str!("../schema.json");
    type Input = Input;
    type Output = Output;
    fn call(i: Input) -> Result<Output, ToolError> {
        let r = get(&i.url, i.max_bytes.unwrap_or(1 << 20)).map_err(|e| match e {
            HttpError::BadUrl(_) => invalid(e),
            HttpError::Denied(m) => ToolError::Denied(format!("{}: {m}", i.url)),
            other => failed(other),
        })?;
        let content_type = r
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone());
        Ok(Output {
            url: i.url,
            status: r.status,
            content_type,
            body: String::from_utf8_lossy(&r.body).into_owned(),
        })
    }
}
export_tool!(FetchUrl);
