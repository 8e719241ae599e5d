package function

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Reasons of the Ready condition.
const (
	ReasonReady            = "Ready"
	ReasonInvalidSpec      = "InvalidSpec"
	ReasonDeploymentFailed = "DeploymentFailed"
	ReasonServiceFailed    = "ServiceFailed"
	ReasonProgressing      = "Progressing"
	ReasonReplicaFailure   = "ReplicaFailure"
)

func setReady(st *v1alpha1.FunctionStatus, gen int64, ok bool, reason, msg string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionReady, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
	})
}

func markInvalid(st *v1alpha1.FunctionStatus, gen int64, msg string) {
	setReady(st, gen, false, ReasonInvalidSpec, msg)
}

func markFailed(st *v1alpha1.FunctionStatus, gen int64, reason, msg string) {
	setReady(st, gen, false, reason, msg)
}

// markDeployment reads the Deployment's health. A Function at zero
// replicas is Ready: the activator wakes it on the first request. It is not
// Ready while its Deployment reports a failure (pods that cannot be
// created, or a rollout past its deadline).
func markDeployment(st *v1alpha1.FunctionStatus, gen int64, dep *appsv1.Deployment) {
	for _, c := range dep.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			setReady(st, gen, false, ReasonReplicaFailure, c.Message)
			return
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse:
			setReady(st, gen, false, ReasonProgressing, c.Message)
			return
		}
	}
	setReady(st, gen, true, ReasonReady, "")
}
