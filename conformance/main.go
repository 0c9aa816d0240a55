// Command conformance drives Tarmac through the complete API-driven run workflow using only
// the official go-tfe SDK (TFE_ADDRESS, TFE_TOKEN): organizations, workspaces, configuration
// uploads, runs, plans, applies and their logs, apply, discard, cancel, force-cancel, run-list
// pagination and workspace queueing. It prints one line per step and ends with
// "N passed, M failed"; it exits 1 when a step fails.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"path/filepath"
	"strings"
	"time"

	tfe "github.com/hashicorp/go-tfe"
)

var (
	ctx    = context.Background()
	client *tfe.Client
	passed int
	failed int
)

// step runs one check and prints its outcome; a failed step's dependants fail on their own
// preconditions (nil values), so every step still gets a line.
func step(name string, fn func() error) bool {
	start := time.Now()
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return fn()
	}()
	if err != nil {
		failed++
		fmt.Printf("FAIL  %s: %v\n", name, err)
		return false
	}
	passed++
	fmt.Printf("PASS  %s (%.1fs)\n", name, time.Since(start).Seconds())
	return true
}

func need(values ...interface{}) error {
	for _, v := range values {
		switch x := v.(type) {
		case *tfe.Organization:
			if x == nil {
				return errors.New("precondition: no organization (an earlier step failed)")
			}
		case *tfe.Workspace:
			if x == nil {
				return errors.New("precondition: no workspace (an earlier step failed)")
			}
		case *tfe.ConfigurationVersion:
			if x == nil {
				return errors.New("precondition: no configuration version (an earlier step failed)")
			}
		case *tfe.Run:
			if x == nil {
				return errors.New("precondition: no run (an earlier step failed)")
			}
		}
	}
	return nil
}

// configDir writes a configuration with n null resources and a terraform-double.json script.
func configDir(n int, script string) (string, error) {
	dir, err := ioutil.TempDir("", "tarmac-conformance-config")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "resource \"null_resource\" \"r%d\" {}\n", i)
	}
	if err := ioutil.WriteFile(filepath.Join(dir, "main.tf"), []byte(b.String()), 0o644); err != nil {
		return "", err
	}
	if script != "" {
		if err := ioutil.WriteFile(filepath.Join(dir, "terraform-double.json"), []byte(script), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// uploadConfig creates a configuration version, uploads dir to its upload-url and waits for
// the upload to be processed.
func uploadConfig(ws *tfe.Workspace, resources int, script string) (*tfe.ConfigurationVersion, error) {
	cv, err := client.ConfigurationVersions.Create(ctx, ws.ID, tfe.ConfigurationVersionCreateOptions{AutoQueueRuns: tfe.Bool(false)})
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	if cv.Status != tfe.ConfigurationPending || cv.UploadURL == "" {
		return nil, fmt.Errorf("created version: status %q, upload-url %q", cv.Status, cv.UploadURL)
	}
	dir, err := configDir(resources, script)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := client.ConfigurationVersions.Upload(ctx, cv.UploadURL, dir); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		cv, err = client.ConfigurationVersions.Read(ctx, cv.ID)
		if err != nil {
			return nil, err
		}
		if cv.Status == tfe.ConfigurationUploaded {
			return cv, nil
		}
		if cv.Status == tfe.ConfigurationErrored || time.Now().After(deadline) {
			return nil, fmt.Errorf("configuration version %s is %q", cv.ID, cv.Status)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// waitRun polls a run until ok accepts it, and fails on a final status ok did not expect.
func waitRun(id string, timeout time.Duration, ok func(*tfe.Run) bool) (*tfe.Run, error) {
	deadline := time.Now().Add(timeout)
	seen := []string{}
	for {
		r, err := client.Runs.Read(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(seen) == 0 || seen[len(seen)-1] != string(r.Status) {
			seen = append(seen, string(r.Status))
		}
		if ok(r) {
			return r, nil
		}
		switch r.Status {
		case tfe.RunApplied, tfe.RunErrored, tfe.RunDiscarded, tfe.RunCanceled, tfe.RunPlannedAndFinished, "force_canceled":
			return r, fmt.Errorf("run %s ended %q (statuses seen: %s)", id, r.Status, strings.Join(seen, " → "))
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("run %s still %q after %s (statuses seen: %s)", id, r.Status, timeout, strings.Join(seen, " → "))
		}
		time.Sleep(400 * time.Millisecond)
	}
}

func status(s ...tfe.RunStatus) func(*tfe.Run) bool {
	return func(r *tfe.Run) bool {
		for _, x := range s {
			if r.Status == x {
				return true
			}
		}
		return false
	}
}

// awaitingConfirmation: planned, or one of the later stages that still wait for a confirmation.
var awaitingConfirmation = status(tfe.RunPlanned, tfe.RunCostEstimated, tfe.RunPolicyChecked)

func createRun(ws *tfe.Workspace, cv *tfe.ConfigurationVersion, message string) (*tfe.Run, error) {
	r, err := client.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: ws, ConfigurationVersion: cv, Message: tfe.String(message)})
	if err != nil {
		return nil, err
	}
	if r.ID == "" || r.Plan == nil || r.Plan.ID == "" || r.Apply == nil || r.Apply.ID == "" {
		return nil, fmt.Errorf("created run lacks its id, plan or apply: %+v", r)
	}
	if r.Message != message || r.ConfigurationVersion == nil || r.ConfigurationVersion.ID != cv.ID {
		return nil, fmt.Errorf("created run: message %q, configuration version %+v", r.Message, r.ConfigurationVersion)
	}
	return r, nil
}

// readAll reads a log through go-tfe's LogReader (log-read-url, STX/ETX framing), noting
// whether some of it arrived while the phase was still running.
func readAll(r io.Reader, running func() bool) (string, bool, error) {
	var b strings.Builder
	live := false
	buf := make([]byte, 512)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if b.Len() == 0 && running() {
				live = true
			}
			b.Write(buf[:n])
		}
		if err == io.EOF {
			return b.String(), live, nil
		}
		if err != nil {
			return b.String(), live, err
		}
	}
}

// waitForLog reads a running plan's log through go-tfe's LogReader until it contains text.
func waitForLog(planID, text string, timeout time.Duration) error {
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	logs, err := client.Plans.Logs(c, planID)
	if err != nil {
		return err
	}
	var b strings.Builder
	buf := make([]byte, 512)
	for !strings.Contains(b.String(), text) {
		n, err := logs.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return fmt.Errorf("plan log without %q (%v):\n%s", text, err, b.String())
		}
	}
	return nil
}

func expectNotFound(err error) error {
	if err != tfe.ErrResourceNotFound {
		return fmt.Errorf("expected go-tfe's ErrResourceNotFound, got %v", err)
	}
	return nil
}

func main() {
	var err error
	client, err = tfe.NewClient(nil) // reads TFE_ADDRESS and TFE_TOKEN; pings /api/v2/ping
	if err != nil {
		fmt.Printf("FAIL  connect: %v\n0 passed, 1 failed\n", err)
		os.Exit(1)
	}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	var (
		org                   *tfe.Organization
		ws, wsCancel, wsForce *tfe.Workspace
		cv1, cv2              *tfe.ConfigurationVersion
		run1, run2            *tfe.Run
		plan1Log, apply1Log   string
		plan1Live             bool
	)

	step("create an organization", func() error {
		name := "conformance-" + suffix
		org, err = client.Organizations.Create(ctx, tfe.OrganizationCreateOptions{Name: tfe.String(name), Email: tfe.String("conformance@example.com")})
		if err != nil {
			return err
		}
		if org.Name != name || org.Email != "conformance@example.com" {
			return fmt.Errorf("organization %+v", org)
		}
		return nil
	})

	step("create workspaces", func() error {
		if err := need(org); err != nil {
			return err
		}
		for _, w := range []struct {
			name string
			dst  **tfe.Workspace
		}{{"workflow", &ws}, {"cancel", &wsCancel}, {"force-cancel", &wsForce}} {
			created, err := client.Workspaces.Create(ctx, org.Name, tfe.WorkspaceCreateOptions{Name: tfe.String(w.name), AutoApply: tfe.Bool(false)})
			if err != nil {
				return fmt.Errorf("%s: %w", w.name, err)
			}
			if created.ID == "" || created.Name != w.name || created.AutoApply || created.Organization == nil || created.Organization.Name != org.Name {
				return fmt.Errorf("workspace %+v", created)
			}
			*w.dst = created
		}
		read, err := client.Workspaces.ReadByID(ctx, ws.ID)
		if err != nil {
			return err
		}
		if read.Name != "workflow" {
			return fmt.Errorf("read back %q", read.Name)
		}
		return nil
	})

	step("create and upload a configuration version", func() error {
		if err := need(ws); err != nil {
			return err
		}
		cv1, err = uploadConfig(ws, 2, `{"plan": {"seconds": 3}}`)
		return err
	})

	step("create a run on the uploaded configuration", func() error {
		if err := need(ws, cv1); err != nil {
			return err
		}
		run1, err = createRun(ws, cv1, "first run")
		if err != nil {
			return err
		}
		if !run1.Permissions.CanApply || !run1.Permissions.CanDiscard || !run1.Permissions.CanCancel {
			return fmt.Errorf("permissions %+v", run1.Permissions)
		}
		return nil
	})

	step("stream the plan log through log-read-url while planning", func() error {
		if err := need(run1); err != nil {
			return err
		}
		logs, err := client.Plans.Logs(ctx, run1.Plan.ID)
		if err != nil {
			return err
		}
		plan1Log, plan1Live, err = readAll(logs, func() bool {
			p, err := client.Plans.Read(ctx, run1.Plan.ID)
			return err == nil && (p.Status == tfe.PlanRunning || p.Status == tfe.PlanQueued || p.Status == tfe.PlanPending)
		})
		if err != nil {
			return err
		}
		if !strings.Contains(plan1Log, "Plan: 2 to add, 0 to change, 0 to destroy") {
			return fmt.Errorf("plan log lacks the plan summary:\n%s", plan1Log)
		}
		if !plan1Live {
			return errors.New("the first log bytes arrived only after the plan had finished")
		}
		if strings.ContainsAny(plan1Log, "\x02\x03") {
			return errors.New("STX/ETX framing leaked into the log text")
		}
		return nil
	})

	step("run awaits confirmation with confirm/discard actions", func() error {
		if err := need(run1); err != nil {
			return err
		}
		run1, err = waitRun(run1.ID, 60*time.Second, awaitingConfirmation)
		if err != nil {
			return err
		}
		if !run1.HasChanges || !run1.Actions.IsConfirmable || !run1.Actions.IsDiscardable || run1.Actions.IsForceCancelable {
			return fmt.Errorf("has-changes %v, actions %+v", run1.HasChanges, run1.Actions)
		}
		if run1.StatusTimestamps == nil || run1.StatusTimestamps.PlanQueuabledAt.IsZero() || run1.StatusTimestamps.PlanningAt.IsZero() {
			return fmt.Errorf("status-timestamps %+v", run1.StatusTimestamps)
		}
		return nil
	})

	step("read the plan", func() error {
		if err := need(run1); err != nil {
			return err
		}
		p, err := client.Plans.Read(ctx, run1.Plan.ID)
		if err != nil {
			return err
		}
		if p.Status != tfe.PlanFinished || !p.HasChanges || p.ResourceAdditions != 2 || p.ResourceChanges != 0 || p.ResourceDestructions != 0 || p.LogReadURL == "" {
			return fmt.Errorf("plan %+v", p)
		}
		if p.StatusTimestamps == nil || p.StatusTimestamps.FinishedAt.IsZero() || p.StatusTimestamps.StartedAt.IsZero() {
			return fmt.Errorf("plan status-timestamps %+v", p.StatusTimestamps)
		}
		return nil
	})

	step("the run was cost estimated (organizations estimate costs by default, as in HCP)", func() error {
		if err := need(run1); err != nil {
			return err
		}
		if run1.Status != tfe.RunCostEstimated || run1.CostEstimate == nil || run1.CostEstimate.ID == "" {
			return fmt.Errorf("status %q, cost-estimate %+v", run1.Status, run1.CostEstimate)
		}
		ce, err := client.CostEstimates.Read(ctx, run1.CostEstimate.ID)
		if err != nil {
			return err
		}
		if ce.Status != tfe.CostEstimateFinished || ce.ResourcesCount != 2 || ce.ProposedMonthlyCost == "" {
			return fmt.Errorf("cost estimate %+v", ce)
		}
		return nil
	})

	step("a second run waits while the first awaits confirmation", func() error {
		if err := need(ws, run1); err != nil {
			return err
		}
		cv2, err = uploadConfig(ws, 3, `{"plan": {"seconds": 1}}`)
		if err != nil {
			return err
		}
		run2, err = createRun(ws, cv2, "second run")
		if err != nil {
			return err
		}
		for i := 0; i < 12; i++ {
			r2, err := client.Runs.Read(ctx, run2.ID)
			if err != nil {
				return err
			}
			if r2.Status != tfe.RunPending {
				return fmt.Errorf("second run is %q while the first awaits confirmation", r2.Status)
			}
			if !r2.Actions.IsCancelable || r2.Actions.IsConfirmable {
				return fmt.Errorf("pending run actions %+v", r2.Actions)
			}
			time.Sleep(500 * time.Millisecond)
		}
		r1, err := client.Runs.Read(ctx, run1.ID)
		if err != nil {
			return err
		}
		if !awaitingConfirmation(r1) {
			return fmt.Errorf("first run moved to %q", r1.Status)
		}
		return nil
	})

	step("apply the first run", func() error {
		if err := need(run1); err != nil {
			return err
		}
		if err := client.Runs.Apply(ctx, run1.ID, tfe.RunApplyOptions{Comment: tfe.String("ship it")}); err != nil {
			return err
		}
		run1, err = waitRun(run1.ID, 60*time.Second, status(tfe.RunApplied))
		if err != nil {
			return err
		}
		if run1.StatusTimestamps.AppliedAt.IsZero() || run1.StatusTimestamps.ApplyingAt.IsZero() {
			return fmt.Errorf("status-timestamps %+v", run1.StatusTimestamps)
		}
		if run1.Actions.IsConfirmable || run1.Actions.IsDiscardable || run1.Actions.IsCancelable {
			return fmt.Errorf("applied run still offers actions %+v", run1.Actions)
		}
		return nil
	})

	step("applying twice is refused", func() error {
		if err := need(run1); err != nil {
			return err
		}
		err := client.Runs.Apply(ctx, run1.ID, tfe.RunApplyOptions{})
		if err == nil {
			return errors.New("a second apply was accepted")
		}
		return nil
	})

	step("read the apply and stream its log", func() error {
		if err := need(run1); err != nil {
			return err
		}
		a, err := client.Applies.Read(ctx, run1.Apply.ID)
		if err != nil {
			return err
		}
		if a.Status != tfe.ApplyFinished || a.ResourceAdditions != 2 || a.LogReadURL == "" || a.StatusTimestamps == nil || a.StatusTimestamps.FinishedAt.IsZero() {
			return fmt.Errorf("apply %+v", a)
		}
		logs, err := client.Applies.Logs(ctx, a.ID)
		if err != nil {
			return err
		}
		apply1Log, _, err = readAll(logs, func() bool { return false })
		if err != nil {
			return err
		}
		if !strings.Contains(apply1Log, "Apply complete! Resources: 2 added, 0 changed, 0 destroyed") {
			return fmt.Errorf("apply log lacks the summary:\n%s", apply1Log)
		}
		return nil
	})

	step("the second run plans once the first is applied, then is discarded", func() error {
		if err := need(run2); err != nil {
			return err
		}
		r2, err := waitRun(run2.ID, 60*time.Second, awaitingConfirmation)
		if err != nil {
			return err
		}
		p, err := client.Plans.Read(ctx, r2.Plan.ID)
		if err != nil {
			return err
		}
		if p.ResourceAdditions != 1 {
			return fmt.Errorf("second plan adds %d resources, want 1 (the first run's state is the base)", p.ResourceAdditions)
		}
		if err := client.Runs.Discard(ctx, run2.ID, tfe.RunDiscardOptions{Comment: tfe.String("not now")}); err != nil {
			return err
		}
		run2, err = waitRun(run2.ID, 30*time.Second, status(tfe.RunDiscarded))
		if err != nil {
			return err
		}
		if run2.Actions.IsDiscardable || run2.Actions.IsConfirmable {
			return fmt.Errorf("discarded run still offers actions %+v", run2.Actions)
		}
		if err := client.Runs.Discard(ctx, run2.ID, tfe.RunDiscardOptions{}); err == nil {
			return errors.New("discarding a discarded run was accepted")
		}
		return nil
	})

	step("list runs with pagination", func() error {
		if err := need(run1, run2); err != nil {
			return err
		}
		page1, err := client.Runs.List(ctx, ws.ID, tfe.RunListOptions{ListOptions: tfe.ListOptions{PageNumber: 1, PageSize: 1}})
		if err != nil {
			return err
		}
		if len(page1.Items) != 1 || page1.Items[0].ID != run2.ID {
			return fmt.Errorf("page 1 should hold the newest run %s, got %d items", run2.ID, len(page1.Items))
		}
		if page1.Pagination == nil || page1.CurrentPage != 1 || page1.TotalCount != 2 || page1.TotalPages != 2 || page1.NextPage != 2 {
			return fmt.Errorf("page 1 pagination %+v", page1.Pagination)
		}
		page2, err := client.Runs.List(ctx, ws.ID, tfe.RunListOptions{ListOptions: tfe.ListOptions{PageNumber: 2, PageSize: 1}})
		if err != nil {
			return err
		}
		if len(page2.Items) != 1 || page2.Items[0].ID != run1.ID || page2.PreviousPage != 1 || page2.NextPage != 0 {
			return fmt.Errorf("page 2: %d items, pagination %+v", len(page2.Items), page2.Pagination)
		}
		page3, err := client.Runs.List(ctx, ws.ID, tfe.RunListOptions{ListOptions: tfe.ListOptions{PageNumber: 3, PageSize: 1}})
		if err != nil {
			return err
		}
		if len(page3.Items) != 0 || page3.TotalCount != 2 {
			return fmt.Errorf("page 3: %d items, pagination %+v", len(page3.Items), page3.Pagination)
		}
		all, err := client.Runs.List(ctx, ws.ID, tfe.RunListOptions{})
		if err != nil {
			return err
		}
		if len(all.Items) != 2 || all.Items[0].ID != run2.ID || all.Items[1].ID != run1.ID || all.Items[1].Status != tfe.RunApplied {
			return fmt.Errorf("full list %d items", len(all.Items))
		}
		return nil
	})

	step("cancel a pending run and a planning run", func() error {
		if err := need(wsCancel); err != nil {
			return err
		}
		cv, err := uploadConfig(wsCancel, 1, `{"plan": {"seconds": 60}}`)
		if err != nil {
			return err
		}
		planning, err := createRun(wsCancel, cv, "long plan")
		if err != nil {
			return err
		}
		waiting, err := createRun(wsCancel, cv, "queued behind it")
		if err != nil {
			return err
		}
		if _, err := waitRun(planning.ID, 30*time.Second, status(tfe.RunPlanning)); err != nil {
			return err
		}
		if err := client.Runs.Cancel(ctx, waiting.ID, tfe.RunCancelOptions{Comment: tfe.String("never mind")}); err != nil {
			return fmt.Errorf("cancel pending: %w", err)
		}
		if _, err := waitRun(waiting.ID, 20*time.Second, status(tfe.RunCanceled)); err != nil {
			return err
		}
		started := time.Now()
		if err := client.Runs.Cancel(ctx, planning.ID, tfe.RunCancelOptions{}); err != nil {
			return fmt.Errorf("cancel planning: %w", err)
		}
		r, err := waitRun(planning.ID, 30*time.Second, status(tfe.RunCanceled))
		if err != nil {
			return err
		}
		if time.Since(started) > 25*time.Second {
			return errors.New("the plan was not interrupted: it ran to its end")
		}
		p, err := client.Plans.Read(ctx, r.Plan.ID)
		if err != nil {
			return err
		}
		if p.Status != tfe.PlanCanceled {
			return fmt.Errorf("plan of the canceled run is %q", p.Status)
		}
		if p.StatusTimestamps == nil || p.StatusTimestamps.CanceledAt.IsZero() {
			return fmt.Errorf("plan status-timestamps %+v", p.StatusTimestamps)
		}
		return nil
	})

	step("force-cancel a run whose terraform ignores the interrupt", func() error {
		if err := need(wsForce); err != nil {
			return err
		}
		cv, err := uploadConfig(wsForce, 1, `{"plan": {"seconds": 90, "ignore_interrupt_seconds": 90}}`)
		if err != nil {
			return err
		}
		r, err := createRun(wsForce, cv, "stubborn plan")
		if err != nil {
			return err
		}
		if r, err = waitRun(r.ID, 30*time.Second, status(tfe.RunPlanning)); err != nil {
			return err
		}
		// The interrupt must reach `terraform plan` (which ignores it), not `terraform init` before it.
		if err := waitForLog(r.Plan.ID, "Still planning", 30*time.Second); err != nil {
			return err
		}
		if r.Actions.IsForceCancelable || !r.Permissions.CanForceCancel {
			return fmt.Errorf("before cancel: actions %+v, can-force-cancel %v", r.Actions, r.Permissions.CanForceCancel)
		}
		if err := client.Runs.ForceCancel(ctx, r.ID, tfe.RunForceCancelOptions{}); err == nil {
			return errors.New("force-cancel before a cancel was accepted")
		}
		if err := client.Runs.Cancel(ctx, r.ID, tfe.RunCancelOptions{}); err != nil {
			return err
		}
		r, err = client.Runs.Read(ctx, r.ID)
		if err != nil {
			return err
		}
		if r.Status != tfe.RunPlanning || r.ForceCancelAvailableAt.IsZero() || !r.ForceCancelAvailableAt.After(time.Now().Add(-time.Second)) {
			return fmt.Errorf("after cancel: status %q, force-cancel-available-at %v", r.Status, r.ForceCancelAvailableAt)
		}
		if r, err = waitRun(r.ID, 60*time.Second, func(r *tfe.Run) bool { return r.Actions.IsForceCancelable }); err != nil {
			return err
		}
		if time.Now().Before(r.ForceCancelAvailableAt.Add(-time.Second)) {
			return fmt.Errorf("force-cancelable before force-cancel-available-at %v", r.ForceCancelAvailableAt)
		}
		if err := client.Runs.ForceCancel(ctx, r.ID, tfe.RunForceCancelOptions{Comment: tfe.String("stuck")}); err != nil {
			return err
		}
		if r, err = waitRun(r.ID, 30*time.Second, status("force_canceled")); err != nil {
			return err
		}
		w, err := client.Workspaces.ReadByID(ctx, wsForce.ID)
		if err != nil {
			return err
		}
		if w.Locked {
			return errors.New("the workspace stays locked after the force-cancel")
		}
		return nil
	})

	step("unknown runs, plans and applies are not found", func() error {
		if err := expectNotFound(client.Runs.Apply(ctx, "run-doesnotexist", tfe.RunApplyOptions{})); err != nil {
			return err
		}
		if _, err := client.Plans.Read(ctx, "plan-doesnotexist"); expectNotFound(err) != nil {
			return expectNotFound(err)
		}
		_, err := client.Applies.Read(ctx, "apply-doesnotexist")
		return expectNotFound(err)
	})

	step("delete the organization", func() error {
		if err := need(org); err != nil {
			return err
		}
		if err := client.Organizations.Delete(ctx, org.Name); err != nil {
			return err
		}
		_, err := client.Organizations.Read(ctx, org.Name)
		return expectNotFound(err)
	})

	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
