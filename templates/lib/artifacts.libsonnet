// Expected artifacts: what a trigger must supply for the pipeline to run.
{
  // A docker/image artifact matched by image name (repository without tag). Deploy stages
  // bind it into manifests whose container image equals `image`.
  dockerImage(id, image, displayName='image'):: {
    id: id,
    displayName: displayName,
    matchArtifact: { type: 'docker/image', name: image, artifactAccount: 'docker-registry' },
    useDefaultArtifact: false,
    usePriorArtifact: false,
    // Used when the run was started without such an artifact (a manual run): the
    // reference may use SpEL over the trigger, e.g. its parameters.
    withDefaultReference(reference):: self + {
      useDefaultArtifact: true,
      defaultArtifact: { type: 'docker/image', name: image, reference: reference, artifactAccount: 'docker-registry' },
    },
  },
}
