//! `perimeter up`: the server, with the reference environment deployed.
//!
//! Starts exactly as `perimeter serve` does, then deploys the reference templates (embedded
//! from `templates/`) as CloudFormation stacks, in dependency order, as the account root:
//! identities, network, keys, data buckets, the Studio domain. Each `CreateStack` runs
//! in-process through the gateway (`Gateway::internal_call` for the root caller, then
//! `Call::invoke`), so it takes the one authorization path and lands in the audit trail like
//! an API call, without HTTP, signing or credentials handed around; the stacks' resources are
//! then made by CloudFormation through each service as any stack's are. A stack that exists
//! (a second `up` on the same data dir) is left as it is; one whose creation failed is deleted
//! and created again. Then it prints the stacks' outputs, the endpoints' addresses and how to
//! sign in to Studio, prints `ready`, and serves until interrupted.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Args;
use gateway::{Identities, Via};
use serde_json::{Value, json};

use crate::serve::{Running, ServeArgs};

/// `perimeter up`'s flags: `perimeter serve`'s, and what to deploy.
#[derive(Args, Debug, Clone)]
pub struct UpArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Serve only: do not deploy the reference templates.
    #[arg(long)]
    pub no_deploy: bool,
    /// The environment's name: the prefix of export names, bucket names and key aliases.
    #[arg(long, value_name = "NAME", default_value = "perimeter")]
    pub environment: String,
}

/// One reference template and the stack it becomes.
struct Reference {
    /// The stack name's suffix (`<environment>-<suffix>`).
    suffix: &'static str,
    /// The file under `templates/`.
    file: &'static str,
    /// The template.
    body: &'static str,
}

/// The reference templates, in the order their exports and imports require.
const REFERENCES: &[Reference] = &[
    Reference {
        suffix: "iam",
        file: "iam-roles.yaml",
        body: include_str!("../../../templates/iam-roles.yaml"),
    },
    Reference {
        suffix: "network",
        file: "network-vpc.yaml",
        body: include_str!("../../../templates/network-vpc.yaml"),
    },
    Reference {
        suffix: "kms",
        file: "kms-keys.yaml",
        body: include_str!("../../../templates/kms-keys.yaml"),
    },
    Reference {
        suffix: "data",
        file: "data-buckets.yaml",
        body: include_str!("../../../templates/data-buckets.yaml"),
    },
    Reference {
        suffix: "studio",
        file: "sagemaker-domain.yaml",
        body: include_str!("../../../templates/sagemaker-domain.yaml"),
    },
];

/// How long one stack may take.
const STACK_TIMEOUT: Duration = Duration::from_secs(600);

/// The statuses of a stack that exists and is usable: `up` leaves it alone.
fn settled(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE"
    )
}

/// Starts the server, deploys the reference stacks, prints the summary, serves.
pub fn run(args: UpArgs) -> ExitCode {
    let runtime = match crate::serve::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = runtime.block_on(async move {
        let running = crate::serve::start(&args.serve).await?;
        running.print_banner();
        if args.no_deploy {
            println!("deploy    skipped (--no-deploy)");
        } else {
            let stacks = deploy(&running, &args.environment).await?;
            summary(&running, &stacks).await;
        }
        running.serve_until_interrupted().await;
        Ok::<(), String>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("perimeter: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A call as the account root, made by Perimeter itself.
fn root_call(running: &Running, service: &'static str) -> Result<gateway::Call, String> {
    let cred = running
        .stack
        .iam
        .lookup(&running.access_key, None, SystemTime::now())
        .map_err(|e| format!("root credentials: {}", e.message))?;
    Ok(running.gateway.internal_call(cred.caller, service))
}

fn flush() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

/// Deploys every reference stack that is not there yet; returns the stacks in order.
async fn deploy(
    running: &Running,
    environment: &str,
) -> Result<Vec<cloudformation::state::StackRecord>, String> {
    let cfn = running.stack.cloudformation.clone();
    let account = running.args.account_id.clone();
    let call = root_call(running, "cloudformation")?;
    let mut out = Vec::new();
    for r in REFERENCES {
        let name = format!("{environment}-{}", r.suffix);
        if let Some(s) = cfn.stack(&account, &name) {
            let s = if s.in_progress() {
                cfn.wait(&account, &name, STACK_TIMEOUT).await.unwrap_or(s)
            } else {
                s
            };
            if settled(&s.status) {
                println!("stack     {name}: {} (found, left as it is)", s.status);
                flush();
                out.push(s);
                continue;
            }
            println!(
                "stack     {name}: {} ({}); deleting it to create it again",
                s.status,
                s.status_reason.clone().unwrap_or_default()
            );
            flush();
            delete(&cfn, &call, &account, &s.stack_id).await?;
        }
        print!("stack     {name}: creating from templates/{} ...", r.file);
        flush();
        let started = std::time::Instant::now();
        let created = create(&cfn, &call, &account, &name, r, environment).await?;
        println!(
            " {} ({:.1}s)",
            created.status,
            started.elapsed().as_secs_f64()
        );
        flush();
        out.push(created);
    }
    Ok(out)
}

async fn create(
    cfn: &Arc<cloudformation::CloudFormation>,
    call: &gateway::Call,
    account: &str,
    name: &str,
    r: &Reference,
    environment: &str,
) -> Result<cloudformation::state::StackRecord, String> {
    let mut parameters = vec![cloudformation::Parameter {
        parameter_key: Some("EnvironmentName".into()),
        parameter_value: Some(environment.to_string()),
        ..Default::default()
    }];
    if r.suffix == "network" {
        // The endpoints' clients are processes on this machine: admit loopback on HTTPS.
        parameters.push(cloudformation::Parameter {
            parameter_key: Some("EndpointClientCIDR".into()),
            parameter_value: Some("127.0.0.1/32".into()),
            ..Default::default()
        });
    }
    if r.suffix == "studio" {
        parameters.push(cloudformation::Parameter {
            parameter_key: Some("DomainName".into()),
            parameter_value: Some(format!("{environment}-domain")),
            ..Default::default()
        });
    }
    let op = cloudformation::CreateStack {
        stack_name: name.to_string(),
        template_body: Some(r.body.to_string()),
        parameters,
        capabilities: vec!["CAPABILITY_IAM".into(), "CAPABILITY_NAMED_IAM".into()],
        tags: vec![cloudformation::RequestTag {
            key: "perimeter-environment".into(),
            value: environment.to_string(),
        }],
        ..Default::default()
    };
    let out = call
        .invoke(cfn, op, "cloudformation", Via::service("perimeter"))
        .await
        .map_err(|e| format!("CreateStack {name}: {}: {}", e.code, e.message))?;
    let id = out["StackId"].as_str().unwrap_or(name).to_string();
    let s = cfn
        .wait(account, &id, STACK_TIMEOUT)
        .await
        .ok_or_else(|| format!("stack {name} vanished"))?;
    if s.status == "CREATE_COMPLETE" {
        return Ok(s);
    }
    let failures: Vec<String> = cfn
        .events(&s.stack_id)
        .into_iter()
        .filter(|e| e.status.ends_with("_FAILED") && e.kind != "AWS::CloudFormation::Stack")
        .map(|e| {
            format!(
                "  {} {}: {}",
                e.logical_id,
                e.status,
                e.reason.unwrap_or_default()
            )
        })
        .collect();
    Err(format!(
        "stack {name} ended {}: {}\n{}",
        s.status,
        s.status_reason.unwrap_or_default(),
        failures.join("\n")
    ))
}

async fn delete(
    cfn: &Arc<cloudformation::CloudFormation>,
    call: &gateway::Call,
    account: &str,
    stack_id: &str,
) -> Result<(), String> {
    let op = cloudformation::DeleteStack {
        stack_name: stack_id.to_string(),
        ..Default::default()
    };
    call.invoke(cfn, op, "cloudformation", Via::service("perimeter"))
        .await
        .map_err(|e| format!("DeleteStack {stack_id}: {}: {}", e.code, e.message))?;
    let s = cfn.wait(account, stack_id, STACK_TIMEOUT).await;
    match s {
        Some(s) if s.status == "DELETE_COMPLETE" => Ok(()),
        Some(s) => Err(format!(
            "stack {} could not be deleted ({}: {}); delete it with `aws cloudformation delete-stack` and run `perimeter up` again",
            s.name,
            s.status,
            s.status_reason.unwrap_or_default()
        )),
        None => Ok(()),
    }
}

fn output<'a>(stacks: &'a [cloudformation::state::StackRecord], key: &str) -> Option<&'a str> {
    stacks
        .iter()
        .flat_map(|s| s.outputs.iter())
        .find(|o| o.key == key)
        .map(|o| o.value.as_str())
}

/// The live address of each endpoint of the VPC (ports can change across restarts).
async fn endpoints(running: &Running, vpc: &str) -> Vec<(String, String, String)> {
    let Ok(call) = root_call(running, "ec2") else {
        return Vec::new();
    };
    let op: ec2::DescribeVpcEndpoints =
        match serde_json::from_value(json!({"Filters": [{"Name": "vpc-id", "Values": [vpc]}]})) {
            Ok(op) => op,
            Err(_) => return Vec::new(),
        };
    let Ok(out) = call
        .invoke(&running.stack.ec2, op, "ec2", Via::service("perimeter"))
        .await
    else {
        return Vec::new();
    };
    let out: Value = serde_json::to_value(out).unwrap_or(Value::Null);
    let mut list: Vec<(String, String, String)> = out["VpcEndpoints"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["ServiceName"].as_str().unwrap_or_default().to_string(),
                        e["VpcEndpointId"].as_str().unwrap_or_default().to_string(),
                        e["DnsEntries"][0]["DnsName"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    list.sort();
    list
}

/// Prints every stack's outputs, the endpoints and how to sign in to Studio.
async fn summary(running: &Running, stacks: &[cloudformation::state::StackRecord]) {
    println!();
    println!("outputs");
    for s in stacks {
        println!("  {}", s.name);
        let width = s.outputs.iter().map(|o| o.key.len()).max().unwrap_or(0);
        for o in &s.outputs {
            println!("    {:width$}  {}", o.key, o.value);
        }
    }
    let endpoint = format!("http://{}", running.addr);
    if let Some(vpc) = output(stacks, "VpcId") {
        println!();
        println!("endpoints of {vpc} (use with --endpoint-url http://<address>)");
        let list = endpoints(running, vpc).await;
        let width = list.iter().map(|e| e.0.len()).max().unwrap_or(0);
        for (service, id, dns) in &list {
            println!("  {service:width$}  {id}  {dns}");
        }
        if let (Some(bucket), Some((_, _, s3))) = (
            output(stacks, "DataBucketName"),
            list.iter().find(|e| e.0.ends_with(".s3")),
        ) {
            println!();
            println!("data");
            println!(
                "  the buckets answer only through the S3 endpoint, and take only KMS-encrypted uploads:"
            );
            println!(
                "  aws s3 cp train.csv s3://{bucket}/ --sse aws:kms --endpoint-url http://{s3}"
            );
        }
    }
    if let (Some(domain), Some(profile)) = (
        output(stacks, "DomainId"),
        output(stacks, "DataScientistProfileName"),
    ) {
        let mlops = output(stacks, "MLOpsProfileName").unwrap_or("mlops-engineer");
        println!();
        println!("sign in to Studio");
        println!(
            "  aws sagemaker create-presigned-domain-url --domain-id {domain} --user-profile-name {profile} --endpoint-url {endpoint}"
        );
        println!(
            "  (or --user-profile-name {mlops}); open the AuthorizedUrl it prints in a browser."
        );
        println!(
            "  With the root credentials shown above; a principal of the environment needs sagemaker:CreatePresignedDomainUrl."
        );
    }
    println!();
    flush();
}
