#!/usr/bin/env bash
# Deploys SAM to Google Cloud: builds and pushes the image, replaces the
# Cloud Run jobs from deploy/cloudrun/*.yaml and creates or updates the
# Cloud Scheduler triggers from deploy/cloudscheduler/*.yaml.
#
# Required environment:
#   GCP_PROJECT           project that runs the jobs
#   GCP_REGION            Cloud Run / Scheduler region, e.g. europe-west1
#   SAM_IMAGE             image reference to build and deploy
#   SAM_SERVICE_ACCOUNT   runtime service account email (see deploy/README.md)
#   SAM_SCHEDULER_ACCOUNT service account Cloud Scheduler calls Cloud Run as
#   SAM_BQ_PROJECT SAM_BQ_DATASET SAM_BQ_LOCATION SAM_BQ_MAX_BYTES_BILLED
#   SAM_GA4_EXPORT_PROJECT SAM_GA4_EXPORT_DATASET SAM_CRM_SOURCE SAM_GA4_MEASUREMENT_ID
#   SAM_DATA_BUCKET       Cloud Storage bucket mounted read-only at /data: spend/,
#                         fx_rates.csv, and crm/ when SAM_CRM_SOURCE=file
# Optional (empty unless SAM_CRM_SOURCE=salesforce):
#   SAM_SALESFORCE_INSTANCE_URL (the org's My Domain) SAM_SALESFORCE_CONSUMER_KEY
# Optional ad platforms, each off unless its first variable is set:
#   SAM_GOOGLE_ADS_CUSTOMER_ID with SAM_GOOGLE_ADS_CONVERSION_ACTIONS
#     (and SAM_GOOGLE_ADS_LOGIN_CUSTOMER_ID through a manager account)
#   SAM_META_DATASET_ID (and SAM_META_EVENT_NAMES) with the secret sam-meta-access-token
#   SAM_LINKEDIN_CONVERSIONS with SAM_LINKEDIN_CLIENT_ID and the secrets
#     sam-linkedin-client-secret and sam-linkedin-refresh-token
# Secrets (sam-hubspot-token, sam-salesforce-consumer-secret, sam-ga4-api-secret,
# and the ad platforms' above) must exist in Secret Manager; they never pass
# through this script.
set -euo pipefail
cd "$(dirname "$0")/.."

required=(GCP_PROJECT GCP_REGION SAM_IMAGE SAM_SERVICE_ACCOUNT SAM_SCHEDULER_ACCOUNT
  SAM_BQ_PROJECT SAM_BQ_DATASET SAM_BQ_LOCATION SAM_BQ_MAX_BYTES_BILLED
  SAM_GA4_EXPORT_PROJECT SAM_GA4_EXPORT_DATASET SAM_CRM_SOURCE SAM_GA4_MEASUREMENT_ID SAM_DATA_BUCKET)
: "${SAM_SALESFORCE_INSTANCE_URL:=}" "${SAM_SALESFORCE_CONSUMER_KEY:=}"
export SAM_SALESFORCE_INSTANCE_URL SAM_SALESFORCE_CONSUMER_KEY # render.sh fills them in
if [[ $SAM_CRM_SOURCE == salesforce && ( -z $SAM_SALESFORCE_INSTANCE_URL || -z $SAM_SALESFORCE_CONSUMER_KEY ) ]]; then
  echo "deploy: SAM_CRM_SOURCE=salesforce needs SAM_SALESFORCE_INSTANCE_URL and SAM_SALESFORCE_CONSUMER_KEY" >&2
  exit 2
fi
# needs SETTING PARTNER: a platform's setting without its partner would stop
# the job on every run.
needs() {
  if [[ -n ${!1:-} && -z ${!2:-} ]]; then
    echo "deploy: $1 needs $2" >&2
    exit 2
  fi
}
needs SAM_GOOGLE_ADS_CUSTOMER_ID SAM_GOOGLE_ADS_CONVERSION_ACTIONS
needs SAM_GOOGLE_ADS_LOGIN_CUSTOMER_ID SAM_GOOGLE_ADS_CUSTOMER_ID
needs SAM_META_EVENT_NAMES SAM_META_DATASET_ID
needs SAM_LINKEDIN_CONVERSIONS SAM_LINKEDIN_CLIENT_ID
for v in "${required[@]}"; do
  if [[ -z "${!v:-}" ]]; then
    echo "deploy: $v must be set" >&2
    exit 2
  fi
done

echo "building $SAM_IMAGE"
gcloud builds submit --project "$GCP_PROJECT" --tag "$SAM_IMAGE" .

for f in deploy/cloudrun/*.yaml; do
  echo "replacing Cloud Run job from $f"
  deploy/render.sh "$f" | gcloud run jobs replace - --project "$GCP_PROJECT" --region "$GCP_REGION"
done

for f in deploy/cloudscheduler/*.yaml; do
  name=$(sed -n 's/^name: *//p' "$f")
  job=$(sed -n 's/^job: *//p' "$f")
  schedule=$(sed -n 's/^schedule: *"\(.*\)"/\1/p' "$f")
  tz=$(sed -n 's/^timeZone: *//p' "$f")
  deadline=$(sed -n 's/^attemptDeadline: *//p' "$f")
  retries=$(sed -n 's/^ *maxRetryAttempts: *//p' "$f")
  minb=$(sed -n 's/^ *minBackoffDuration: *//p' "$f")
  maxb=$(sed -n 's/^ *maxBackoffDuration: *//p' "$f")
  doublings=$(sed -n 's/^ *maxDoublings: *//p' "$f")
  uri="https://run.googleapis.com/v2/projects/$GCP_PROJECT/locations/$GCP_REGION/jobs/$job:run"
  verb=create
  if gcloud scheduler jobs describe "$name" --project "$GCP_PROJECT" --location "$GCP_REGION" >/dev/null 2>&1; then
    verb=update
  fi
  echo "$verb Cloud Scheduler job $name ($schedule $tz) -> $job"
  gcloud scheduler jobs "$verb" http "$name" --project "$GCP_PROJECT" --location "$GCP_REGION" \
    --schedule "$schedule" --time-zone "$tz" --uri "$uri" --http-method POST \
    --oauth-service-account-email "$SAM_SCHEDULER_ACCOUNT" \
    --attempt-deadline "$deadline" --max-retry-attempts "$retries" \
    --min-backoff "$minb" --max-backoff "$maxb" --max-doublings "$doublings"
done
