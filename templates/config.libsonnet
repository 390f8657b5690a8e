// Platform-wide settings shared by every team's pipeline.
//
// A platform team changes them for everyone by overriding just this file:
// `kujira-gen build --templates DIR ...` with DIR/config.libsonnet (imports that are not
// found in DIR come from the built-in templates).
{
  // Pin images to versions your clusters can pull; mirror them for air-gapped clusters.
  images: {
    // Runs the Postman collection; entrypoint `newman`.
    newman: 'postman/newman:6-alpine',
    // Argo Rollouts' kubectl plugin; entrypoint `kubectl-argo-rollouts`, so jobs pass args only.
    rolloutsPlugin: 'quay.io/argoproj/kubectl-argo-rollouts:v1.9.1',
    // Any image with a POSIX shell and kubectl, for the wait-for-preview job.
    kubectl: 'alpine/k8s:1.32.3',
  },

  // Spinnaker Docker registry account used by docker triggers that do not name one.
  dockerRegistryAccount: 'docker-registry',

  // Name of the generated release pipeline in each application.
  pipelineName: 'release',

  // Upper bounds for the pipeline's jobs (Job activeDeadlineSeconds). The wait, verify
  // and rollback scripts stop by themselves 60 s earlier, so that what they printed can
  // still be read. A rollback after a promotion may have to scale the previous version up
  // again: give it the time your pods need to become ready.
  timeouts: {
    waitForPreviewSeconds: 900,
    promoteSeconds: 300,
    verifySeconds: 900,
    rollbackSeconds: 600,
    // How long Verify watches the promoted version under live traffic (part of
    // verifySeconds).
    verifySoakSeconds: 120,
  },

  // Finished jobs are deleted by Kubernetes after this long.
  jobTtlSecondsAfterFinished: 3600,

  // Requests of the pipeline's own jobs (clusters with a ResourceQuota require them).
  jobResources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },

  // ReplicaSets Argo Rollouts keeps for `undo`.
  revisionHistoryLimit: 3,
}
