package local

import "testing"

func TestApplyValidates(t *testing.T) {
	r := New(Config{})
	defer r.Close(t.Context())
	tests := []struct {
		name string
		fn   string
		spec ProcessSpec
	}{
		{"no name", "", ProcessSpec{Command: []string{"true"}}},
		{"no command", "f", ProcessSpec{}},
		{"empty program", "f", ProcessSpec{Command: []string{""}}},
		{"relative health path", "f", ProcessSpec{Command: []string{"true"}, HealthPath: "healthz"}},
		{"env not KEY=VALUE", "f", ProcessSpec{Command: []string{"true"}, Env: []string{"FOO"}}},
	}
	for _, tt := range tests {
		if err := r.Apply(tt.fn, tt.spec); err == nil {
			t.Errorf("%s: Apply succeeded, want an error", tt.name)
		}
	}
	if err := r.SetReplicas("undefined", 1); err == nil {
		t.Error("SetReplicas of an undefined function succeeded, want an error")
	}
	if err := r.Apply("f", ProcessSpec{Command: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetReplicas("f", -1); err == nil {
		t.Error("SetReplicas(-1) succeeded, want an error")
	}
}
