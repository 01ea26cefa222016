package helm

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// pod is the rendered Deployment's pod laid out in a temporary directory as
// the kubelet would lay it out, to run the exporter on: every mount path
// moved under dir, with the files of its volume.
type pod struct {
	dir  string
	spec corev1.PodSpec
	// secrets holds the content of the Secrets the chart expects to exist
	// (by name and key); the Secrets the chart renders are added to it.
	secrets map[string]map[string]string
	// writes counts the updates of each volume, for the names of the
	// kubelet's timestamped directories.
	writes int
}

// layOutPod lays out the pod of the rendered chart: for each volume mount,
// a directory under a temporary one holding what the volume holds. A
// ConfigMap's keys and a Secret's items are written as the kubelet writes
// them (files in a timestamped directory, reached through the symbolic
// link ..data, swapped in one rename on an update); the absolute mount
// paths in a ConfigMap's content are moved under the directory too. Other
// volumes are empty directories.
func layOutPod(t *testing.T, r rendered, secrets map[string]map[string]string) *pod {
	t.Helper()
	p := &pod{dir: t.TempDir(), spec: only[*appsv1.Deployment](t, r).Spec.Template.Spec, secrets: map[string]map[string]string{}}
	for name, keys := range secrets {
		p.secrets[name] = keys
	}
	for _, s := range all[*corev1.Secret](r) {
		keys := map[string]string{}
		for k, v := range s.Data {
			keys[k] = string(v)
		}
		for k, v := range s.StringData {
			keys[k] = v
		}
		p.secrets[s.Name] = keys
	}
	p.update(t, r)
	return p
}

// update writes the volumes' files anew from a render of the chart with
// other values, as the kubelet does when a ConfigMap or Secret changes:
// the pod spec (its volumes and mounts) stays the one laid out.
func (p *pod) update(t *testing.T, r rendered) {
	t.Helper()
	p.writes++
	configMaps := map[string]*corev1.ConfigMap{}
	for _, cm := range all[*corev1.ConfigMap](r) {
		configMaps[cm.Name] = cm
	}
	ctr := p.spec.Containers[0]
	for _, m := range ctr.VolumeMounts {
		if m.SubPath != "" || m.SubPathExpr != "" {
			t.Fatalf("volume %s is mounted with subPath, which this layout does not do", m.Name)
		}
		dir := p.path(m.MountPath)
		vol := volumeNamed(p.spec, m.Name)
		if vol == nil {
			t.Fatalf("volume mount %s names no volume", m.Name)
		}
		var files map[string]string
		switch {
		case vol.ConfigMap != nil:
			cm := configMaps[vol.ConfigMap.Name]
			if cm == nil {
				t.Fatalf("volume %s: the chart renders no ConfigMap %s", m.Name, vol.ConfigMap.Name)
			}
			files = project(t, "ConfigMap "+cm.Name, cm.Data, vol.ConfigMap.Items)
			for name, content := range files {
				files[name] = p.movePaths(content)
			}
		case vol.Secret != nil:
			data, ok := p.secrets[vol.Secret.SecretName]
			if !ok {
				t.Fatalf("volume %s: no content for the Secret %s", m.Name, vol.Secret.SecretName)
			}
			files = project(t, "Secret "+vol.Secret.SecretName, data, vol.Secret.Items)
		default:
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		writeAtomic(t, dir, fmt.Sprintf("..%d", p.writes), files)
	}
}

// project returns the files a ConfigMap or Secret volume holds: every key,
// or the items' keys at their paths. A missing key fails, as it keeps the
// kubelet from starting the pod.
func project(t *testing.T, what string, data map[string]string, items []corev1.KeyToPath) map[string]string {
	t.Helper()
	files := map[string]string{}
	if len(items) == 0 {
		for k, v := range data {
			files[k] = v
		}
		return files
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			t.Fatalf("%s has no key %s", what, it.Key)
		}
		files[it.Path] = v
	}
	return files
}

// writeAtomic writes files into dir the kubelet's way (its AtomicWriter):
// into a new directory ts beside them, then the symbolic link ..data
// pointed at it in one rename, and each file a link into ..data.
func writeAtomic(t *testing.T, dir, ts string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if strings.Contains(name, "/") {
			t.Fatalf("file %s in a subdirectory: not laid out", name)
		}
		writeTemp(t, filepath.Join(dir, ts), name, []byte(content))
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			t.Fatal(err)
		}
	}
}

// path is where the container's path lies in the layout.
func (p *pod) path(containerPath string) string { return filepath.Join(p.dir, containerPath) }

// movePaths moves the container's mount paths in s under the layout's
// directory.
func (p *pod) movePaths(s string) string {
	for _, m := range p.spec.Containers[0].VolumeMounts {
		mp := strings.TrimSuffix(m.MountPath, "/") + "/"
		s = strings.ReplaceAll(s, mp, p.path(mp)+"/")
	}
	return s
}

// args returns the container's arguments with the listen address left
// out (the test gives one) and absolute paths moved into the layout.
func (p *pod) args() []string {
	var args []string
	for _, a := range p.spec.Containers[0].Args {
		if strings.HasPrefix(a, "--web.listen-address=") {
			continue
		}
		if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(v, "/") {
			a = k + "=" + p.path(v)
		}
		args = append(args, a)
	}
	return args
}

// env returns this process's environment with the container's variables
// added (only plain values: a valueFrom fails the test).
func (p *pod) env(t *testing.T) []string {
	t.Helper()
	env := slices.Clone(os.Environ())
	for _, e := range p.spec.Containers[0].Env {
		if e.ValueFrom != nil {
			t.Fatalf("environment variable %s has a valueFrom, which the test does not resolve", e.Name)
		}
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}
