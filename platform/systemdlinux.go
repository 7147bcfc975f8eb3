package platform

import "context"

// SystemdLinux is what every systemd Linux platform does the same way:
// the standard paths, the chatbox account, and the service as a systemd
// unit. The Debian and RHEL backends embed it.
type SystemdLinux struct {
	Service Systemd
	// Nologin is the shell of the service account.
	Nologin string
	// Package says whether chatbox's package is installed, with the
	// package manager's commands; nil means never.
	Package func(ctx context.Context, h *Host) (Package, bool)
}

// Packaged asks Package.
func (s *SystemdLinux) Packaged(ctx context.Context, h *Host) (Package, bool) {
	if s.Package == nil {
		return Package{}, false
	}
	return s.Package(ctx, h)
}

// Paths returns the standard Linux paths.
func (s *SystemdLinux) Paths() Paths {
	return Paths{
		Binary:      "/usr/local/bin/chatbox",
		ConfigDir:   "/etc/chatbox",
		Config:      "/etc/chatbox/config.toml",
		DataDir:     "/var/lib/chatbox",
		ServiceFile: s.Service.UnitPath(),
	}
}

// User returns the service account.
func (s *SystemdLinux) User() string { return "chatbox" }

// Listen returns the standard ports; the unit grants CAP_NET_BIND_SERVICE.
func (s *SystemdLinux) Listen() Listen { return Listen{HTTP: ":80", HTTPS: ":443"} }

// CreateUser adds the chatbox account and its directories.
func (s *SystemdLinux) CreateUser(ctx context.Context, h *Host) error {
	return CreateUserLinux(ctx, h, s.User(), s.Nologin, s.Paths())
}

// RemoveUser deletes the chatbox account and its group.
func (s *SystemdLinux) RemoveUser(ctx context.Context, h *Host) error {
	if !h.HasUser(s.User()) {
		return nil
	}
	return h.Exec(ctx, "userdel", s.User())
}

// InstallService writes the hardened unit and enables it; where chatbox's
// package is installed it enables the package's unit instead.
func (s *SystemdLinux) InstallService(ctx context.Context, h *Host) error {
	if _, ok := s.Packaged(ctx, h); ok {
		return s.Service.EnableVendor(ctx, h)
	}
	return s.Service.Install(ctx, h)
}

// RestartService restarts the unit.
func (s *SystemdLinux) RestartService(ctx context.Context, h *Host) error {
	return s.Service.Restart(ctx, h)
}

// StartCommands clear the unit's failure state and start it.
func (s *SystemdLinux) StartCommands() []string { return s.Service.StartCommands() }

// StopService stops the unit.
func (s *SystemdLinux) StopService(ctx context.Context, h *Host) error {
	return s.Service.Stop(ctx, h)
}

// ServiceActive reports whether the unit runs.
func (s *SystemdLinux) ServiceActive(ctx context.Context, h *Host) bool {
	return s.Service.Active(ctx, h)
}

// RemoveService stops, disables and deletes the unit; the package's unit
// is the package manager's to delete.
func (s *SystemdLinux) RemoveService(ctx context.Context, h *Host) error {
	return s.Service.Remove(ctx, h)
}

// LogsCommand shows the unit's journal.
func (s *SystemdLinux) LogsCommand(lines int, follow bool) []string {
	return s.Service.LogsCommand(lines, follow)
}

// LogFile returns "": the log is in the journal.
func (s *SystemdLinux) LogFile() string { return "" }

// Listeners reads the host's socket table from its /proc.
func (s *SystemdLinux) Listeners(_ context.Context, h *Host, ports ...int) ([]Listener, error) {
	return ProcListeners(h.Path("/proc"), ports...)
}

// InstallJob schedules j as a systemd timer.
func (s *SystemdLinux) InstallJob(ctx context.Context, h *Host, j Job) error {
	return InstallTimerJob(ctx, h, j, s.Service.Relabel)
}

// RemoveJob disables j's timer and deletes its units.
func (s *SystemdLinux) RemoveJob(ctx context.Context, h *Host, j Job) error {
	return RemoveTimerJob(ctx, h, j)
}

// JobState reads back from systemd that j's timer is enabled and waiting.
func (s *SystemdLinux) JobState(ctx context.Context, h *Host, j Job) error {
	return TimerJobState(ctx, h, j)
}
