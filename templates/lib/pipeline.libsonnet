// The Spinnaker application and pipeline objects.
{
  application(name, email):: {
    name: name,
    email: email,
    cloudProviders: 'kubernetes',
    withRepository(type, project, slug):: self + { repoType: type, repoSlug: slug }
                                          + (if project == null then {} else { repoProjectKey: project }),
    withDescription(text):: self + { description: text },
  },

  pipeline(application, name):: {
    application: application,
    name: name,
    keepWaitingPipelines: false,
    limitConcurrent: true,
    spelEvaluator: 'v4',
    triggers: [],
    parameterConfig: [],
    expectedArtifacts: [],
    notifications: [],
    stages: [],

    withDescription(text):: self + { description: text },
    withTriggers(triggers):: self + { triggers: triggers },
    withParameters(parameters):: self + { parameterConfig: parameters },
    withExpectedArtifacts(artifacts):: self + { expectedArtifacts: artifacts },
    withNotifications(notifications):: self + { notifications: notifications },
    withStages(stages):: self + { stages: stages },
    // A UI guard only (Gate never enforces it): says where the pipeline really comes from.
    withLock(description):: self + { locked: { ui: true, allowUnlockUi: false, description: description } },
  },
}
