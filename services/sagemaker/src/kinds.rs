//! The resource types this service keeps, with what each needs to be named, listed and shown:
//! its ARN type, its name and ARN members, its status member, and its list summary.

use serde::{Deserialize, Serialize};

/// A SageMaker resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Domain,
    UserProfile,
    Space,
    App,
    TrainingJob,
    ProcessingJob,
    TransformJob,
    HyperParameterTuningJob,
    AutoMlJob,
    CompilationJob,
    Model,
    EndpointConfig,
    Endpoint,
    NotebookInstance,
    NotebookInstanceLifecycleConfig,
}

/// What the generic handlers need to know about a resource type.
pub(crate) struct Spec {
    /// The ARN's resource type, e.g. `training-job`.
    pub arn_type: &'static str,
    /// Whether SageMaker lowercases the name in the ARN (jobs, models, endpoints...).
    pub lowercase_arn: bool,
    /// The name member, e.g. `TrainingJobName`.
    pub name: &'static str,
    /// The ARN member, e.g. `TrainingJobArn`.
    pub arn: &'static str,
    /// The status member, if the resource has one.
    pub status: Option<&'static str>,
    /// The member of a List* response holding the summaries.
    pub list: &'static str,
    /// The members a summary shows.
    pub summary: &'static [&'static str],
    /// How error messages name the type.
    pub noun: &'static str,
}

impl Kind {
    /// Every kind, for lookups by ARN type.
    pub const ALL: [Kind; 15] = [
        Kind::Domain,
        Kind::UserProfile,
        Kind::Space,
        Kind::App,
        Kind::TrainingJob,
        Kind::ProcessingJob,
        Kind::TransformJob,
        Kind::HyperParameterTuningJob,
        Kind::AutoMlJob,
        Kind::CompilationJob,
        Kind::Model,
        Kind::EndpointConfig,
        Kind::Endpoint,
        Kind::NotebookInstance,
        Kind::NotebookInstanceLifecycleConfig,
    ];

    pub(crate) fn spec(self) -> &'static Spec {
        match self {
            Kind::Domain => &Spec {
                arn_type: "domain",
                lowercase_arn: false,
                name: "DomainId",
                arn: "DomainArn",
                status: Some("Status"),
                list: "Domains",
                summary: &[
                    "DomainArn",
                    "DomainId",
                    "DomainName",
                    "Status",
                    "CreationTime",
                    "LastModifiedTime",
                    "Url",
                ],
                noun: "Domain",
            },
            Kind::UserProfile => &Spec {
                arn_type: "user-profile",
                lowercase_arn: false,
                name: "UserProfileName",
                arn: "UserProfileArn",
                status: Some("Status"),
                list: "UserProfiles",
                summary: &[
                    "DomainId",
                    "UserProfileName",
                    "Status",
                    "CreationTime",
                    "LastModifiedTime",
                ],
                noun: "User profile",
            },
            Kind::Space => &Spec {
                arn_type: "space",
                lowercase_arn: false,
                name: "SpaceName",
                arn: "SpaceArn",
                status: Some("Status"),
                list: "Spaces",
                summary: &[
                    "DomainId",
                    "SpaceName",
                    "Status",
                    "CreationTime",
                    "LastModifiedTime",
                    "SpaceDisplayName",
                ],
                noun: "Space",
            },
            Kind::App => &Spec {
                arn_type: "app",
                lowercase_arn: false,
                name: "AppName",
                arn: "AppArn",
                status: Some("Status"),
                list: "Apps",
                summary: &[
                    "DomainId",
                    "UserProfileName",
                    "SpaceName",
                    "AppType",
                    "AppName",
                    "Status",
                    "CreationTime",
                    "ResourceSpec",
                ],
                noun: "App",
            },
            Kind::TrainingJob => &Spec {
                arn_type: "training-job",
                lowercase_arn: true,
                name: "TrainingJobName",
                arn: "TrainingJobArn",
                status: Some("TrainingJobStatus"),
                list: "TrainingJobSummaries",
                summary: &[
                    "TrainingJobName",
                    "TrainingJobArn",
                    "CreationTime",
                    "TrainingEndTime",
                    "LastModifiedTime",
                    "TrainingJobStatus",
                    "SecondaryStatus",
                ],
                noun: "Training job",
            },
            Kind::ProcessingJob => &Spec {
                arn_type: "processing-job",
                lowercase_arn: true,
                name: "ProcessingJobName",
                arn: "ProcessingJobArn",
                status: Some("ProcessingJobStatus"),
                list: "ProcessingJobSummaries",
                summary: &[
                    "ProcessingJobName",
                    "ProcessingJobArn",
                    "CreationTime",
                    "ProcessingEndTime",
                    "LastModifiedTime",
                    "ProcessingJobStatus",
                    "FailureReason",
                    "ExitMessage",
                ],
                noun: "Processing job",
            },
            Kind::TransformJob => &Spec {
                arn_type: "transform-job",
                lowercase_arn: true,
                name: "TransformJobName",
                arn: "TransformJobArn",
                status: Some("TransformJobStatus"),
                list: "TransformJobSummaries",
                summary: &[
                    "TransformJobName",
                    "TransformJobArn",
                    "CreationTime",
                    "TransformEndTime",
                    "LastModifiedTime",
                    "TransformJobStatus",
                    "FailureReason",
                ],
                noun: "Transform job",
            },
            Kind::HyperParameterTuningJob => &Spec {
                arn_type: "hyper-parameter-tuning-job",
                lowercase_arn: true,
                name: "HyperParameterTuningJobName",
                arn: "HyperParameterTuningJobArn",
                status: Some("HyperParameterTuningJobStatus"),
                list: "HyperParameterTuningJobSummaries",
                summary: &[
                    "HyperParameterTuningJobName",
                    "HyperParameterTuningJobArn",
                    "HyperParameterTuningJobStatus",
                    "Strategy",
                    "CreationTime",
                    "HyperParameterTuningEndTime",
                    "LastModifiedTime",
                    "TrainingJobStatusCounters",
                    "ObjectiveStatusCounters",
                    "ResourceLimits",
                ],
                noun: "Hyperparameter tuning job",
            },
            Kind::AutoMlJob => &Spec {
                arn_type: "automl-job",
                lowercase_arn: true,
                name: "AutoMLJobName",
                arn: "AutoMLJobArn",
                status: Some("AutoMLJobStatus"),
                list: "AutoMLJobSummaries",
                summary: &[
                    "AutoMLJobName",
                    "AutoMLJobArn",
                    "AutoMLJobStatus",
                    "AutoMLJobSecondaryStatus",
                    "CreationTime",
                    "EndTime",
                    "LastModifiedTime",
                    "FailureReason",
                ],
                noun: "AutoML job",
            },
            Kind::CompilationJob => &Spec {
                arn_type: "compilation-job",
                lowercase_arn: true,
                name: "CompilationJobName",
                arn: "CompilationJobArn",
                status: Some("CompilationJobStatus"),
                list: "CompilationJobSummaries",
                summary: &[
                    "CompilationJobName",
                    "CompilationJobArn",
                    "CreationTime",
                    "CompilationStartTime",
                    "CompilationEndTime",
                    "CompilationTargetDevice",
                    "LastModifiedTime",
                    "CompilationJobStatus",
                ],
                noun: "Compilation job",
            },
            Kind::Model => &Spec {
                arn_type: "model",
                lowercase_arn: true,
                name: "ModelName",
                arn: "ModelArn",
                status: None,
                list: "Models",
                summary: &["ModelName", "ModelArn", "CreationTime"],
                noun: "Model",
            },
            Kind::EndpointConfig => &Spec {
                arn_type: "endpoint-config",
                lowercase_arn: true,
                name: "EndpointConfigName",
                arn: "EndpointConfigArn",
                status: None,
                list: "EndpointConfigs",
                summary: &["EndpointConfigName", "EndpointConfigArn", "CreationTime"],
                noun: "Endpoint configuration",
            },
            Kind::Endpoint => &Spec {
                arn_type: "endpoint",
                lowercase_arn: true,
                name: "EndpointName",
                arn: "EndpointArn",
                status: Some("EndpointStatus"),
                list: "Endpoints",
                summary: &[
                    "EndpointName",
                    "EndpointArn",
                    "CreationTime",
                    "LastModifiedTime",
                    "EndpointStatus",
                ],
                noun: "Endpoint",
            },
            Kind::NotebookInstance => &Spec {
                arn_type: "notebook-instance",
                lowercase_arn: true,
                name: "NotebookInstanceName",
                arn: "NotebookInstanceArn",
                status: Some("NotebookInstanceStatus"),
                list: "NotebookInstances",
                summary: &[
                    "NotebookInstanceName",
                    "NotebookInstanceArn",
                    "NotebookInstanceStatus",
                    "Url",
                    "InstanceType",
                    "CreationTime",
                    "LastModifiedTime",
                    "NotebookInstanceLifecycleConfigName",
                    "DefaultCodeRepository",
                    "AdditionalCodeRepositories",
                ],
                noun: "Notebook instance",
            },
            Kind::NotebookInstanceLifecycleConfig => &Spec {
                arn_type: "notebook-instance-lifecycle-config",
                lowercase_arn: true,
                name: "NotebookInstanceLifecycleConfigName",
                arn: "NotebookInstanceLifecycleConfigArn",
                status: None,
                list: "NotebookInstanceLifecycleConfigs",
                summary: &[
                    "NotebookInstanceLifecycleConfigName",
                    "NotebookInstanceLifecycleConfigArn",
                    "CreationTime",
                    "LastModifiedTime",
                ],
                noun: "Notebook instance lifecycle configuration",
            },
        }
    }

    /// The kind whose ARNs use resource type `arn_type`.
    pub(crate) fn from_arn_type(arn_type: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.spec().arn_type == arn_type)
    }

    /// The key a resource is stored under within its account and kind: names of kinds whose
    /// ARNs are lowercased are unique regardless of case.
    pub(crate) fn id_of(self, name: &str) -> String {
        if self.spec().lowercase_arn {
            name.to_ascii_lowercase()
        } else {
            name.to_string()
        }
    }
}

/// The ARN of resource `path` (a name, or `DOMAIN/NAME` for Studio resources).
pub(crate) fn arn(region: &str, account: &str, kind: Kind, path: &str) -> String {
    let spec = kind.spec();
    let path = if spec.lowercase_arn {
        path.to_ascii_lowercase()
    } else {
        path.to_string()
    };
    format!(
        "arn:aws:sagemaker:{region}:{account}:{}/{path}",
        spec.arn_type
    )
}

/// A SageMaker ARN taken apart: account, kind, and the path after the resource type.
pub(crate) fn parse_arn(arn: &str) -> Option<(String, Kind, String)> {
    let rest = arn.strip_prefix("arn:aws:sagemaker:")?;
    let mut parts = rest.splitn(3, ':');
    let _region = parts.next()?;
    let account = parts.next()?;
    let resource = parts.next()?;
    let (arn_type, path) = resource.split_once('/')?;
    let kind = Kind::from_arn_type(arn_type)?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) || path.is_empty() {
        return None;
    }
    Some((account.to_string(), kind, path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_round_trip_and_lowercase_where_aws_does() {
        let a = arn("us-east-1", "111122223333", Kind::TrainingJob, "My-Job");
        assert_eq!(
            a,
            "arn:aws:sagemaker:us-east-1:111122223333:training-job/my-job"
        );
        let u = arn(
            "us-east-1",
            "111122223333",
            Kind::UserProfile,
            "d-abc/Alice",
        );
        assert_eq!(
            u,
            "arn:aws:sagemaker:us-east-1:111122223333:user-profile/d-abc/Alice"
        );
        assert_eq!(
            parse_arn(&u),
            Some((
                "111122223333".into(),
                Kind::UserProfile,
                "d-abc/Alice".into()
            ))
        );
        assert_eq!(parse_arn("arn:aws:sagemaker:us-east-1:1:model/x"), None);
        assert_eq!(parse_arn("arn:aws:s3:::bucket"), None);
        for k in Kind::ALL {
            assert_eq!(Kind::from_arn_type(k.spec().arn_type), Some(k));
        }
    }
}
