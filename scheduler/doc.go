// Package scheduler owns how SAM runs on a schedule on hosts without Cloud
// Scheduler (whose Cloud Run Job and trigger definitions are in deploy/ at
// the repository root, checked by jobs' tests): a local loop
// (`sam schedule CRON`) that never runs two pipelines at once thanks to a
// lock row in the warehouse that expires when its holder dies.
//
// It imports warehouse, warehouse/systables (its lock table), internal/retry
// and github.com/robfig/cron/v3; the
// caller passes the work to run.
package scheduler
