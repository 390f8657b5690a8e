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
}
