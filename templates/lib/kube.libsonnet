// Builders for the Kubernetes objects a release deploys. Optional fields are left out
// rather than set to null: the Kubernetes schemas reject explicit nulls. They are left out
// with a field whose name is null (`[if ... then 'key']`), in one object: adding a layer
// per optional field (`{...} + (if ... then {...} else {})`) made every later read of the
// object walk the layers (6% of a render's instructions, measured with callgrind).

{
  metadata(name, namespace, labels={}, annotations={}):: {
    name: name,
    namespace: namespace,
    [if labels != {} then 'labels']: labels,
    [if annotations != {} then 'annotations']: annotations,
  },

  serviceAccount(name, namespace, labels={}):: {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: $.metadata(name, namespace, labels),
  },

  role(name, namespace, rules, labels={}):: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: $.metadata(name, namespace, labels),
    rules: rules,
  },

  roleBinding(name, namespace, role, serviceAccount, labels={}):: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: $.metadata(name, namespace, labels),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: namespace }],
  },

  configMap(name, namespace, data, labels={}, annotations={}):: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: $.metadata(name, namespace, labels, annotations),
    data: data,
  },

  service(name, namespace, selector, port, labels={}):: {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: $.metadata(name, namespace, labels),
    spec: {
      type: 'ClusterIP',
      selector: selector,
      ports: [{ name: 'http', port: port, targetPort: 'http', protocol: 'TCP' }],
    },
  },

  container(name, image, args=null, command=null, env=null, resources=null, volumeMounts=null):: {
    name: name,
    image: image,
    [if command != null then 'command']: command,
    [if args != null then 'args']: args,
    [if env != null then 'env']: env,
    [if resources != null then 'resources']: resources,
    [if volumeMounts != null then 'volumeMounts']: volumeMounts,
  },

  // A run-once Job: no retries (a failed test must fail the stage, not run again), a
  // deadline, and clean-up after a while. `generateName` because each run is a new Job.
  job(generateName, namespace, labels, containers, serviceAccountName=null, initContainers=null,
      volumes=null, activeDeadlineSeconds, ttlSecondsAfterFinished):: {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { generateName: generateName, namespace: namespace, labels: labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: activeDeadlineSeconds,
      ttlSecondsAfterFinished: ttlSecondsAfterFinished,
      template: {
        metadata: { labels: labels },
        spec: {
          restartPolicy: 'Never',
          containers: containers,
          [if serviceAccountName == null then 'automountServiceAccountToken']: false,
          [if serviceAccountName != null then 'serviceAccountName']: serviceAccountName,
          [if initContainers != null then 'initContainers']: initContainers,
          [if volumes != null then 'volumes']: volumes,
        },
      },
    },
  },
}
