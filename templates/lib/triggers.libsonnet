// Pipeline triggers. Each takes the ids of the expected artifacts it must carry.
{
  docker(account, registry, repository, organization, tag, artifactIds):: {
    type: 'docker',
    enabled: true,
    account: account,
    registry: registry,
    repository: repository,
    organization: organization,
    expectedArtifactIds: artifactIds,
  } + (if tag == null then {} else { tag: tag }),

  pubsub(subscription, artifactIds):: {
    type: 'pubsub',
    enabled: true,
    pubsubSystem: 'google',
    subscriptionName: subscription,
    expectedArtifactIds: artifactIds,
  },

  webhook(source, artifactIds):: {
    type: 'webhook',
    enabled: true,
    source: source,
    expectedArtifactIds: artifactIds,
  },

  // Starts the pipeline when `pipeline` of `application` ends with one of `statuses`
  // (Orca's DependentPipelineStarter: `successful`, `failed`, `canceled`). The triggered
  // execution receives the artifacts of the one that triggered it (its stages' outputs and
  // its own trigger's artifacts). `pipeline` is the triggering pipeline's id; kujira-gen
  // replaces the name of a pipeline of the same bundle by its id (src/bundle.rs).
  pipeline(application, pipeline, statuses, artifactIds):: {
    type: 'pipeline',
    enabled: true,
    application: application,
    pipeline: pipeline,
    status: statuses,
    expectedArtifactIds: artifactIds,
  },
}
