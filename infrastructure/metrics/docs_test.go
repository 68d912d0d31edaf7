package metrics

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

const operationsDoc = "../../docs/operations.md"

// Every metric is documented in docs/operations.md, and every documented
// metric exists.
func TestEveryMetricIsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(operationsDoc)
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(rollcall_[a-z_]+)` \\|").FindAllSubmatch(doc, -1) {
		documented[string(m[1])] = true
	}

	m := New(Options{Hashing: fixedHashing(0)})
	collectors := []prometheus.Collector{m.rowsValidated, m.accountsCommitted, m.stageSeconds, m.httpSeconds,
		m.mailSeconds, m.mailMessages, m.relayPauses, newDBCollector(nil, nil, nil),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "password_hashes_in_flight"}, func() float64 { return 0 })}
	descs := make(chan *prometheus.Desc, 100)
	for _, c := range collectors {
		c.Describe(descs)
	}
	close(descs)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	var defined []string
	for d := range descs {
		defined = append(defined, fqName.FindStringSubmatch(d.String())[1])
	}
	for _, name := range defined {
		if !documented[name] {
			t.Errorf("%s is not in the metrics table of docs/operations.md", name)
		}
		delete(documented, name)
	}
	for name := range documented {
		t.Errorf("docs/operations.md documents %s, which does not exist", name)
	}
	if len(defined) < 15 {
		t.Errorf("only %d metrics found: %v", len(defined), defined)
	}
}

// The sample alerts of docs/operations.md are valid Prometheus rules, as
// promtool (Debian's prometheus package) reads them.
func TestSampleAlertsAreValidRules(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	doc, err := os.ReadFile(operationsDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, alerts, ok := strings.Cut(string(doc), "### Sample alerts")
	_, rules, ok2 := strings.Cut(alerts, "```yaml\n")
	rules, _, ok3 := strings.Cut(rules, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no yaml block under ### Sample alerts")
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	for _, alert := range []string{"RollcallProjectionStuck", "RollcallMailOutboxGrowing"} {
		if !slices.Contains(strings.Fields(rules), alert) {
			t.Errorf("no %s alert", alert)
		}
	}
}
