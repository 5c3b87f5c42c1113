// Package scheduler owns how SAM runs on a schedule: the Cloud Run Job and
// Cloud Scheduler definitions beside it (cloudrun/, cloudscheduler/,
// deploy.sh), and, for hosts without Cloud Scheduler, a local loop
// (`sam schedule CRON`) that never runs two pipelines at once thanks to a
// lock row in the warehouse that expires when its holder dies.
//
// It imports only warehouse and warehouse/systables (its lock table); the
// caller passes the work to run.
package scheduler
