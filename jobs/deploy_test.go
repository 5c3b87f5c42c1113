package jobs

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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
							Image        string   `yaml:"image"`
							Args         []string `yaml:"args"`
							VolumeMounts []struct {
								Name      string `yaml:"name"`
								MountPath string `yaml:"mountPath"`
							} `yaml:"volumeMounts"`
							Env []struct {
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
						Volumes []struct {
							Name string `yaml:"name"`
							CSI  *struct {
								Driver           string            `yaml:"driver"`
								ReadOnly         bool              `yaml:"readOnly"`
								VolumeAttributes map[string]string `yaml:"volumeAttributes"`
							} `yaml:"csi"`
						} `yaml:"volumes"`
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
	secrets := map[string]bool{"SAM_HUBSPOT_TOKEN": true, "SAM_SALESFORCE_CONSUMER_SECRET": true, "SAM_GA4_API_SECRET": true,
		"SAM_GOOGLE_ADS_ACCESS_TOKEN": true, "SAM_META_ACCESS_TOKEN": true, "SAM_LINKEDIN_ACCESS_TOKEN": true,
		"SAM_LINKEDIN_CLIENT_SECRET": true, "SAM_LINKEDIN_REFRESH_TOKEN": true}
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
			if e.Name == "SAM_LINKEDIN_ACCESS_TOKEN" {
				// It lasts 60 days: a scheduled deployment died with it.
				t.Errorf("%s: a scheduled job gets LinkedIn's access tokens with the refresh token, not a static one", f)
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

// deployValues are what deploy/deploy.sh requires of the deploy
// environment, for a HubSpot portal.
var deployValues = map[string]string{
	"SAM_BQ_PROJECT": "sam-prod", "SAM_BQ_DATASET": "sam", "SAM_BQ_LOCATION": "US",
	"SAM_BQ_MAX_BYTES_BILLED": "1099511627776", "SAM_GA4_EXPORT_PROJECT": "sam-prod",
	"SAM_GA4_EXPORT_DATASET": "analytics_123456789", "SAM_CRM_SOURCE": "hubspot",
	"SAM_GA4_MEASUREMENT_ID": "G-ABC123DEF4", "SAM_SALESFORCE_INSTANCE_URL": "", "SAM_SALESFORCE_CONSUMER_KEY": "",
	"SAM_DATA_BUCKET": "sam-prod-data",
}

// adPlatformValues turn on every ad platform in the deploy environment.
var adPlatformValues = map[string]string{
	"SAM_GOOGLE_ADS_CUSTOMER_ID": "1234567890", "SAM_GOOGLE_ADS_CONVERSION_ACTIONS": "mql:101,won:105",
	"SAM_META_DATASET_ID": "123456789012345", "SAM_LINKEDIN_CONVERSIONS": "sql:1234567,won:7654321",
	"SAM_LINKEDIN_CLIENT_ID": "77abcdefghijkl",
}

// renderDefinition renders a definition with deploy/render.sh, as
// deploy.sh does, in an environment of values alone.
func renderDefinition(t *testing.T, path string, values map[string]string) []byte {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(deployDir, "render.sh"), path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range values {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render.sh %s: %v: %s", path, err, stderr.String())
	}
	return out
}

// Each Cloud Run job, with the environment its definition sets, run in the
// image's empty working directory, passes the checks SAM makes before any
// work. sam-run and sam-load did not: the image holds no ./data/spend, the
// definitions set no SAM_SPEND_DIR and mounted nothing, and every
// execution ended with exit 2 on SAM_SPEND_DIR. The spend files, the rates
// and CRM export files now come from a Cloud Storage bucket mounted
// read-only; here a folder laid out as deploy/README.md asks stands for it.
//
// The same holds with every ad platform on. The definitions carried none of
// their settings before, and `gcloud run jobs replace` drops what is added
// by hand, so a deployment wrote back to GA4 alone.
func TestCloudRunJobsPassTheirOwnChecks(t *testing.T) {
	for _, platforms := range []bool{false, true} {
		values := maps.Clone(deployValues)
		values["SAM_SERVICE_ACCOUNT"], values["SAM_IMAGE"] = "sam@sam-prod.iam.gserviceaccount.com", "europe-docker.pkg.dev/sam-prod/sam/sam:1"
		if platforms {
			maps.Copy(values, adPlatformValues)
		}
		t.Run(map[bool]string{false: "ga4 alone", true: "every ad platform"}[platforms], func(t *testing.T) {
			checkDeployedJobs(t, values, platforms)
		})
	}
}

func checkDeployedJobs(t *testing.T, values map[string]string, platforms bool) {
	stagesOf := map[string][]string{"run": StageNames(), "load": {StageLoadGA4, StageLoadCRM, StageLoadSpend},
		"transform": {StageTransform, StageTest}, "writeback": {StageWriteback}}
	bucket := t.TempDir()
	for _, d := range []string{"spend", "crm"} {
		if err := os.MkdirAll(filepath.Join(bucket, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bucket, "fx_rates.csv"), []byte("date,from_currency,to_currency,rate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(deployDir, "cloudrun", "*.yaml"))
	for _, f := range files {
		b := renderDefinition(t, f, values)
		var job cloudRunJob
		if err := yaml.Unmarshal(b, &job); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		spec := job.Spec.Template.Spec.Template.Spec
		c := spec.Containers[0]
		stages, ok := stagesOf[c.Args[0]]
		if !ok {
			continue
		}
		t.Run(job.Metadata.Name, func(t *testing.T) {
			mounts := map[string]string{} // mount path -> bucket
			for _, m := range c.VolumeMounts {
				for _, v := range spec.Volumes {
					if v.Name == m.Name && v.CSI != nil && v.CSI.Driver == "gcsfuse.run.googleapis.com" && v.CSI.ReadOnly {
						mounts[m.MountPath] = v.CSI.VolumeAttributes["bucketName"]
					}
				}
			}
			for _, e := range c.Env {
				v := e.Value
				if e.ValueFrom != nil {
					v = "secret-from-secret-manager"
				}
				for path, name := range mounts {
					if name == deployValues["SAM_DATA_BUCKET"] && (v == path || strings.HasPrefix(v, path+"/")) {
						v = bucket + strings.TrimPrefix(v, path)
					}
				}
				t.Setenv(e.Name, v)
			}
			t.Chdir(t.TempDir()) // the image's WORKDIR: empty
			cfg, err := config.Load()
			if err != nil {
				t.Fatal(err)
			}
			s, err := Configure(cfg, Task{Index: 0, Count: job.Spec.Template.Spec.TaskCount})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CheckInputs(stages); err != nil {
				t.Fatalf("sam %s as deployed stops before any work: %v", c.Args[0], err)
			}
			if slices.Contains(stages, StageWriteback) {
				a := s.Activation
				if on := []bool{a.GoogleAdsOn, a.MetaOn, a.LinkedInOn}; !slices.Equal(on, []bool{platforms, platforms, platforms}) {
					t.Errorf("sam %s as deployed: Google Ads, Meta, LinkedIn on = %v; want each %v", c.Args[0], on, platforms)
				}
			}
		})
	}
}

// deploy.sh, run with a stand-in gcloud that keeps what it is given,
// replaces each Cloud Run job with its rendered definition. Optional
// settings left out of the deploy environment must not stop it.
func TestDeployScriptReplacesEveryJob(t *testing.T) {
	bin, out := t.TempDir(), t.TempDir()
	gcloud := `#!/usr/bin/env bash
echo "$*" >>"$GCLOUD_OUT/calls"
case "$1 $2 $3" in
  "run jobs replace") cat >"$GCLOUD_OUT/job-$(ls "$GCLOUD_OUT" | wc -l).yaml" ;;
  "scheduler jobs describe") exit 1 ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "gcloud"), []byte(gcloud), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(deployScriptEnv(bin), "GCLOUD_OUT="+out)
	for k, v := range adPlatformValues {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command("bash", filepath.Join(deployDir, "deploy.sh"))
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy.sh: %v\n%s", err, b)
	}
	files, _ := filepath.Glob(filepath.Join(out, "job-*.yaml"))
	defs, _ := filepath.Glob(filepath.Join(deployDir, "cloudrun", "*.yaml"))
	if len(files) != len(defs) {
		t.Fatalf("deploy.sh replaced %d jobs, want %d", len(files), len(defs))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var job cloudRunJob
		if err := yaml.Unmarshal(b, &job); err != nil {
			t.Fatalf("%s: %v\n%s", f, err, b)
		}
		c := job.Spec.Template.Spec.Template.Spec.Containers[0]
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		_, sendsToAds := env["SAM_GOOGLE_ADS_CUSTOMER_ID"]
		if writes := slices.Contains([]string{"run", "writeback"}, c.Args[0]); writes != sendsToAds {
			t.Errorf("sam-%s: sets the Google Ads settings %v, want %v", c.Args[0], sendsToAds, writes)
		}
		if _, ok := env["SAM_LINKEDIN_CONVERSIONS"]; ok && env["SAM_LINKEDIN_CLIENT_ID"] != adPlatformValues["SAM_LINKEDIN_CLIENT_ID"] {
			t.Errorf("sam-%s: SAM_LINKEDIN_CLIENT_ID = %q, want the deploy environment's", c.Args[0], env["SAM_LINKEDIN_CLIENT_ID"])
		}
	}
}

// A setting whose partner is missing would stop the job on every run:
// deploy.sh refuses it, naming the partner, before it builds anything.
func TestDeployScriptRefusesHalfAPlatform(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "gcloud"), []byte("#!/usr/bin/env bash\necho \"gcloud called\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ set, missing string }{
		{"SAM_GOOGLE_ADS_CUSTOMER_ID=1234567890", "SAM_GOOGLE_ADS_CONVERSION_ACTIONS"},
		{"SAM_GOOGLE_ADS_LOGIN_CUSTOMER_ID=1234567890", "SAM_GOOGLE_ADS_CUSTOMER_ID"},
		{"SAM_META_EVENT_NAMES=won:Purchase", "SAM_META_DATASET_ID"},
		{"SAM_LINKEDIN_CONVERSIONS=won:7654321", "SAM_LINKEDIN_CLIENT_ID"},
	} {
		cmd := exec.Command("bash", filepath.Join(deployDir, "deploy.sh"))
		cmd.Env = append(deployScriptEnv(bin), tc.set)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "needs "+tc.missing) || strings.Contains(string(out), "gcloud called") {
			t.Errorf("deploy.sh with %s alone: %v\n%s", tc.set, err, out)
		}
	}
}

// deployScriptEnv is what deploy.sh requires, with bin first on PATH; the
// optional Salesforce settings stay unset.
func deployScriptEnv(bin string) []string {
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"GCP_PROJECT=sam-prod", "GCP_REGION=europe-west1", "SAM_IMAGE=europe-docker.pkg.dev/sam-prod/sam/sam:1",
		"SAM_SERVICE_ACCOUNT=sam@sam-prod.iam.gserviceaccount.com", "SAM_SCHEDULER_ACCOUNT=cron@sam-prod.iam.gserviceaccount.com"}
	for k, v := range deployValues {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}
