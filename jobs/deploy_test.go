package jobs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sam-attribution/sam/internal/config"
	"github.com/sam-attribution/sam/scheduler"
)

var placeholder = regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)

type cloudRunJob struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Template struct {
			Spec struct {
				TaskCount   int `yaml:"taskCount"`
				Parallelism int `yaml:"parallelism"`
				Template    struct {
					Spec struct {
						ServiceAccountName string `yaml:"serviceAccountName"`
						TimeoutSeconds     int    `yaml:"timeoutSeconds"`
						MaxRetries         *int   `yaml:"maxRetries"`
						Containers         []struct {
							Image string   `yaml:"image"`
							Args  []string `yaml:"args"`
							Env   []struct {
								Name      string `yaml:"name"`
								Value     string `yaml:"value"`
								ValueFrom *struct {
									SecretKeyRef struct {
										Name string `yaml:"name"`
										Key  string `yaml:"key"`
									} `yaml:"secretKeyRef"`
								} `yaml:"valueFrom"`
							} `yaml:"env"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// deployDir holds the Cloud Run and Cloud Scheduler definitions.
const deployDir = "../deploy"

// render fills placeholders the way deploy/deploy.sh does, with sample values.
func render(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return placeholder.ReplaceAllFunc(b, func(m []byte) []byte { return []byte("sample-value") })
}

func TestCloudRunJobsParseAndUseKnownVariables(t *testing.T) {
	known := map[string]bool{}
	for _, k := range config.Keys() {
		known[k] = true
	}
	commands := map[string]bool{"run": true, "load": true, "transform": true, "test": true, "writeback": true}
	secrets := map[string]bool{"SAM_HUBSPOT_TOKEN": true, "SAM_SALESFORCE_CONSUMER_SECRET": true, "SAM_GA4_API_SECRET": true}
	files, _ := filepath.Glob(filepath.Join(deployDir, "cloudrun", "*.yaml"))
	if len(files) < 4 {
		t.Fatalf("want a job for sam run and each stage, found %v", files)
	}
	for _, f := range files {
		var job cloudRunJob
		if err := yaml.Unmarshal(render(t, f), &job); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if job.Kind != "Job" || job.APIVersion != "run.googleapis.com/v1" {
			t.Errorf("%s: kind/apiVersion = %s/%s", f, job.Kind, job.APIVersion)
		}
		if job.Metadata.Name+".yaml" != filepath.Base(f) {
			t.Errorf("%s: metadata.name %q should match the file name", f, job.Metadata.Name)
		}
		spec := job.Spec.Template.Spec
		if spec.TaskCount < 1 || spec.Parallelism < 1 || spec.Parallelism > spec.TaskCount {
			t.Errorf("%s: taskCount %d parallelism %d", f, spec.TaskCount, spec.Parallelism)
		}
		ts := spec.Template.Spec
		if ts.ServiceAccountName == "" || ts.TimeoutSeconds <= 0 || ts.MaxRetries == nil || *ts.MaxRetries < 1 {
			t.Errorf("%s: needs a service account, a timeout and retries", f)
		}
		if len(ts.Containers) != 1 {
			t.Fatalf("%s: want one container", f)
		}
		c := ts.Containers[0]
		if len(c.Args) == 0 || !commands[c.Args[0]] {
			t.Errorf("%s: args %v do not start with a sam command", f, c.Args)
		}
		for _, e := range c.Env {
			if !known[e.Name] {
				t.Errorf("%s: sets %s, which the configuration does not read", f, e.Name)
			}
			if e.Name == "SAM_SALESFORCE_ACCESS_TOKEN" {
				// It ends with its session: a daily job stopped on its
				// second day.
				t.Errorf("%s: a scheduled job logs in to Salesforce with the consumer key and secret, not an access token", f)
			}
			if secrets[e.Name] && (e.ValueFrom == nil || e.Value != "") {
				t.Errorf("%s: %s must come from Secret Manager, not a literal", f, e.Name)
			}
		}
	}
}

type schedulerJob struct {
	Name            string `yaml:"name"`
	Job             string `yaml:"job"`
	Schedule        string `yaml:"schedule"`
	TimeZone        string `yaml:"timeZone"`
	AttemptDeadline string `yaml:"attemptDeadline"`
	Retry           struct {
		MaxRetryAttempts   int    `yaml:"maxRetryAttempts"`
		MinBackoffDuration string `yaml:"minBackoffDuration"`
		MaxBackoffDuration string `yaml:"maxBackoffDuration"`
		MaxDoublings       int    `yaml:"maxDoublings"`
	} `yaml:"retry"`
}

func TestSchedulerTriggersAreValid(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(deployDir, "cloudscheduler", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no Cloud Scheduler definitions")
	}
	for _, f := range files {
		var s schedulerJob
		if err := yaml.Unmarshal(render(t, f), &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := scheduler.ParseCron(s.Schedule); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if _, err := os.Stat(filepath.Join(deployDir, "cloudrun", s.Job+".yaml")); err != nil {
			t.Errorf("%s: triggers job %q with no definition in cloudrun/", f, s.Job)
		}
		if s.TimeZone == "" || s.Retry.MaxRetryAttempts < 1 || !strings.HasSuffix(s.Retry.MinBackoffDuration, "s") {
			t.Errorf("%s: needs a time zone and retries with backoff", f)
		}
	}
}
