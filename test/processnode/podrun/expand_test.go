package podrun

import "testing"

func TestExpand(t *testing.T) {
	vars := map[string]string{"VAR_A": "A", "VAR_B": "B", "VAR_EMPTY": "", "NESTED": "$(VAR_A)"}
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(VAR_A)", "A"},
		{"___$(VAR_B)___", "___B___"},
		{"$(VAR_A)-$(VAR_B)", "A-B"},
		{"$(VAR_EMPTY)x", "x"},
		{"$(NESTED)", "$(VAR_A)"}, // values are not expanded again
		{"$$(VAR_A)", "$(VAR_A)"}, // escaped
		{"$$$(VAR_A)", "$A"},
		{"$$$$$$(UNKNOWN)", "$$$(UNKNOWN)"},
		{"$$$$$$$(VAR_A)", "$$$A"},
		{"$$$$$$$(UNKNOWN)", "$$$$(UNKNOWN)"},
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"$()", "$()"},
		{"$(VAR_A", "$(VAR_A"},       // unclosed
		{"x$(VAR_Ay!", "x$(VAR_Ay!"}, // unclosed, text after
		{"$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"},
		{"$VAR_A", "$VAR_A"},
		{"${VAR_A}", "${VAR_A}"},
		{"$?_$!", "$?_$!"},
		{"trailing$", "trailing$"},
		{"$", "$"},
		{"(VAR_A)", "(VAR_A)"},
	} {
		if got := expand(tc.in, vars); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
