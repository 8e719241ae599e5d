package workload

import (
	"testing"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

func TestReplicas(t *testing.T) {
	cases := []struct {
		name     string
		min, max int32
		scaler   *int32
		want     int32
	}{
		{"before the scaler decides: min", 1, 4, nil, 1},
		{"scaled to zero", 0, 4, ptr[int32](0), 0},
		{"the scaler's decision", 0, 4, ptr[int32](3), 3},
		{"above max: max", 0, 4, ptr[int32](9), 4},
		{"below min: min", 2, 4, ptr[int32](0), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := v1alpha1.Scale{Min: &tc.min, Max: &tc.max}
			s.SetDefaults()
			if got := Replicas(&s, tc.scaler); got != tc.want {
				t.Fatalf("Replicas = %d, want %d", got, tc.want)
			}
		})
	}
}
