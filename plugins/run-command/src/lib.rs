use factory_sdk::exec::Command;
use factory_sdk::{Tool, ToolError, export_tool};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Input {
    program: String,
    #[serde(default)]
    args: Vec<String>,
    cwd: Option<String>,
    stdin: Option<String>,
    timeout_ms: Option<u32>,
}

#[derive(Serialize)]
struct Output {
    exit_code: Option<i32>,
    stdout: String,
    stderr: String,
    truncated: bool,
    timed_out: bool,
}

struct RunCommand;
impl Tool for RunCommand {
    const NAME: &'static str = "run-command";
    const DESCRIPTION: &'static str = include_str!("../description.txt").trim_ascii();
    const INPUT_SCHEMA: &'static str = include_str!("../schema.json");
    type Input = Input;
    type Output = Output;
    fn call(i: Input) -> Result<Output, ToolError> {
        let o = factory_sdk::bindings::factory::plugin::exec::run(&Command {
            program: i.program,
            args: i.args,
            cwd: i.cwd,
            env: vec![],
            stdin: i.stdin.map(String::into_bytes),
            timeout_ms: i.timeout_ms,
        })?;
        Ok(Output {
            exit_code: o.exit_code,
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            truncated: o.truncated,
            timed_out: o.timed_out,
        })
    }
}
export_tool!(RunCommand);
