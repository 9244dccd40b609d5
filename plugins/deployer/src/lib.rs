//! The deployer (top trust level only): runs the deploy command, then the
//! health check; if the health check fails, the rollback command.

use factory_sdk::bindings::factory::plugin::exec::{self, Command};
use factory_sdk::role::{Role, RoleError};
use factory_sdk::types::roles::{CommandResult, DeployerInput, DeployerOutput, tail};

struct Deployer;

fn run(argv: &[String], input: &DeployerInput) -> Result<CommandResult, RoleError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(RoleError::InvalidInput("an empty command".into()));
    };
    let out = exec::run(&Command {
        program: program.clone(),
        args: args.to_vec(),
        cwd: Some(input.workdir.clone()),
        env: vec![],
        stdin: None,
        timeout_ms: input.timeout_ms,
    })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(CommandResult {
        command: argv.to_vec(),
        exit_code: if out.timed_out { None } else { out.exit_code },
        output_tail: tail(&text, 20, 2000),
    })
}

impl Role for Deployer {
    const NAME: &'static str = "deployer";
    const KIND: &'static str = "deployer";
    const DESCRIPTION: &'static str = include_str!("../description.txt");
    type Input = DeployerInput;
    type Output = DeployerOutput;

    fn run(input: DeployerInput) -> Result<DeployerOutput, RoleError> {
        let mut out = DeployerOutput::default();
        let deploy = run(&input.deploy, &input)?;
        out.deployed = deploy.exit_code == Some(0);
        out.steps.push(deploy);
        if out.deployed {
            let health = run(&input.health, &input)?;
            out.healthy = health.exit_code == Some(0);
            out.steps.push(health);
        }
        if !out.healthy && !input.rollback.is_empty() {
            factory_sdk::log::warn("deploy or health check failed: rolling back");
            let rb = run(&input.rollback, &input)?;
            out.rolled_back = rb.exit_code == Some(0);
            out.steps.push(rb);
        }
        Ok(out)
    }
}

factory_sdk::export_role!(Deployer);
