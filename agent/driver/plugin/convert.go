package plugin

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hearthfn/hearth/agent/driver"
	driverpb "github.com/hearthfn/hearth/agent/driver/plugin/proto"
	"github.com/hearthfn/hearth/agent/instance"
)

// The conversions below are total and lossless for every value the contract allows: a zero time
// travels as an absent timestamp so that IsZero still holds on the other side.

func timeToPB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeFromPB(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func durationToPB(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

func durationFromPB(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

func resourcesToPB(r instance.Resources) *driverpb.Resources {
	return &driverpb.Resources{MemoryMb: r.MemoryMB, CpuMilli: r.CPUMilli}
}

func resourcesFromPB(r *driverpb.Resources) instance.Resources {
	return instance.Resources{MemoryMB: r.GetMemoryMb(), CPUMilli: r.GetCpuMilli()}
}

func specToPB(s instance.Spec) *driverpb.Spec {
	return &driverpb.Spec{
		Id:        s.ID,
		Function:  s.Function,
		Version:   int64(s.Version),
		Image:     s.Image,
		Env:       s.Env,
		Port:      int32(s.Port),
		Resources: resourcesToPB(s.Resources),
		Labels:    s.Labels,
		Security:  securityToPB(s.Security),
		Secrets:   s.Secrets,
		SecretsAs: s.SecretsAs,
	}
}

func specFromPB(s *driverpb.Spec) instance.Spec {
	return instance.Spec{
		ID:        s.GetId(),
		Function:  s.GetFunction(),
		Version:   int(s.GetVersion()),
		Image:     s.GetImage(),
		Env:       s.GetEnv(),
		Port:      int(s.GetPort()),
		Resources: resourcesFromPB(s.GetResources()),
		Labels:    s.GetLabels(),
		Security:  securityFromPB(s.GetSecurity()),
		Secrets:   s.GetSecrets(),
		SecretsAs: s.GetSecretsAs(),
	}
}

func securityToPB(s instance.Security) *driverpb.Security {
	return &driverpb.Security{
		User:         s.User,
		WritableRoot: s.WritableRoot,
		TmpSizeMb:    s.TmpSizeMB,
		PidsLimit:    int32(s.PidsLimit),
		Nofile:       int32(s.NoFile),
		CapAdd:       s.CapAdd,
		Network:      s.Network,
	}
}

// securityFromPB reads an absent message as the zero Security: the hardened default.
func securityFromPB(s *driverpb.Security) instance.Security {
	return instance.Security{
		User:         s.GetUser(),
		WritableRoot: s.GetWritableRoot(),
		TmpSizeMB:    s.GetTmpSizeMb(),
		PidsLimit:    int(s.GetPidsLimit()),
		NoFile:       int(s.GetNofile()),
		CapAdd:       s.GetCapAdd(),
		Network:      s.GetNetwork(),
	}
}

func instanceToPB(i instance.Instance) *driverpb.Instance {
	return &driverpb.Instance{
		Id:        i.ID,
		DriverRef: i.DriverRef,
		Endpoint:  i.Endpoint,
		StartedAt: timeToPB(i.StartedAt),
	}
}

func instanceFromPB(i *driverpb.Instance) instance.Instance {
	return instance.Instance{
		ID:        i.GetId(),
		DriverRef: i.GetDriverRef(),
		Endpoint:  i.GetEndpoint(),
		StartedAt: timeFromPB(i.GetStartedAt()),
	}
}

func statusToPB(s instance.Status) *driverpb.Status {
	return &driverpb.Status{
		Instance:  instanceToPB(s.Instance),
		Function:  s.Function,
		State:     string(s.State),
		ExitCode:  int32(s.ExitCode),
		OomKilled: s.OOMKilled,
		Reason:    s.Reason,
		Labels:    s.Labels,
	}
}

func statusFromPB(s *driverpb.Status) instance.Status {
	return instance.Status{
		Instance:  instanceFromPB(s.GetInstance()),
		Function:  s.GetFunction(),
		State:     instance.State(s.GetState()),
		ExitCode:  int(s.GetExitCode()),
		OOMKilled: s.GetOomKilled(),
		Reason:    s.GetReason(),
		Labels:    s.GetLabels(),
	}
}

func fingerprintToPB(f driver.Fingerprint) *driverpb.FingerprintResponse {
	return &driverpb.FingerprintResponse{
		Name:         f.Name,
		Version:      f.Version,
		Capabilities: &driverpb.Capabilities{Pause: f.Capabilities.Pause, Logs: f.Capabilities.Logs, Images: f.Capabilities.Images},
		Allocatable:  resourcesToPB(f.Allocatable),
		Images:       f.Images,
	}
}

func fingerprintFromPB(f *driverpb.FingerprintResponse) driver.Fingerprint {
	return driver.Fingerprint{
		Name:    f.GetName(),
		Version: f.GetVersion(),
		Capabilities: driver.Capabilities{
			Pause:  f.GetCapabilities().GetPause(),
			Logs:   f.GetCapabilities().GetLogs(),
			Images: f.GetCapabilities().GetImages(),
		},
		Allocatable: resourcesFromPB(f.GetAllocatable()),
		Images:      f.GetImages(),
	}
}

func eventToPB(e instance.Event) *driverpb.InstanceEvent {
	return &driverpb.InstanceEvent{
		Resync:     e.Resync,
		InstanceId: e.InstanceID,
		Function:   e.Function,
		State:      string(e.State),
		Gone:       e.Gone,
		ExitCode:   int32(e.ExitCode),
		OomKilled:  e.OOMKilled,
		Reason:     e.Reason,
		Time:       timeToPB(e.Time),
	}
}

func eventFromPB(e *driverpb.InstanceEvent) instance.Event {
	return instance.Event{
		Resync:     e.GetResync(),
		InstanceID: e.GetInstanceId(),
		Function:   e.GetFunction(),
		State:      instance.State(e.GetState()),
		Gone:       e.GetGone(),
		ExitCode:   int(e.GetExitCode()),
		OOMKilled:  e.GetOomKilled(),
		Reason:     e.GetReason(),
		Time:       timeFromPB(e.GetTime()),
	}
}
