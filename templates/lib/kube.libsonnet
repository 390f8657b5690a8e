// Builders for the Kubernetes objects a release deploys. Optional fields are left out
// rather than set to null: the Kubernetes schemas reject explicit nulls.
local optional(key, value) = if value == null then {} else { [key]: value };

{
  metadata(name, namespace, labels={}, annotations={})::
    { name: name, namespace: namespace }
    + (if labels == {} then {} else { labels: labels })
    + (if annotations == {} then {} else { annotations: annotations }),

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
  } + optional('command', command)
    + optional('args', args)
    + optional('env', env)
    + optional('resources', resources)
    + optional('volumeMounts', volumeMounts),

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
        } + (if serviceAccountName == null
             then { automountServiceAccountToken: false }
             else { serviceAccountName: serviceAccountName })
          + optional('initContainers', initContainers)
          + optional('volumes', volumes),
      },
    },
  },
}
