package workload

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Reasons of the Ready condition of objects that run a workload.
const (
	ReasonReady            = "Ready"
	ReasonInvalidSpec      = "InvalidSpec"
	ReasonDeploymentFailed = "DeploymentFailed"
	ReasonServiceFailed    = "ServiceFailed"
	ReasonProgressing      = "Progressing"
	ReasonReplicaFailure   = "ReplicaFailure"
)

// SetReady sets the Ready condition in conds.
func SetReady(conds *[]metav1.Condition, gen int64, ok bool, reason, msg string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: v1alpha1.ConditionReady, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
	})
}

// SetDeploymentReady sets Ready from the Deployment's health. A workload at
// zero replicas (scaled to zero, or paused) is Ready: the activator wakes it.
// It is not Ready while its Deployment reports a failure (pods that cannot be
// created, or a rollout past its deadline).
func SetDeploymentReady(conds *[]metav1.Condition, gen int64, dep *appsv1.Deployment) {
	for _, c := range dep.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			SetReady(conds, gen, false, ReasonReplicaFailure, c.Message)
			return
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse:
			SetReady(conds, gen, false, ReasonProgressing, c.Message)
			return
		}
	}
	SetReady(conds, gen, true, ReasonReady, "")
}
