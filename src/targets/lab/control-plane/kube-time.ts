/**
 * Kubernetes' `metav1.Time` on the wire: RFC 3339 in UTC with whole seconds
 * (k8s.io/apimachinery/pkg/apis/meta/v1/time.go, `RFC3339` layout), as every timestamp
 * the lab's controllers and kubelets write into objects (conditions, status, events).
 */
export function rfc3339(d: Date | number = new Date()): string {
  return new Date(d).toISOString().replace(/\.\d+Z$/, 'Z');
}
