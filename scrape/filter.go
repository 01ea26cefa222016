package scrape

import (
	"regexp"
	"strconv"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// CompileFilter compiles a project filter (--mi.project-include and the
// like): a regular expression matched against the whole project ID or the
// whole name. An empty expression is no filter (nil).
func CompileFilter(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	return regexp.Compile("^(?:" + expr + ")$")
}

func matchProject(re *regexp.Regexp, pr client.Project) bool {
	return re.MatchString(strconv.FormatInt(pr.ID, 10)) || re.MatchString(pr.Name)
}

// selected reports whether the filters let a pass over every project
// scrape pr.
func (s *Scraper) selected(pr client.Project) bool {
	if s.cfg.ProjectInclude != nil && !matchProject(s.cfg.ProjectInclude, pr) {
		return false
	}
	if s.cfg.ProjectExclude != nil && matchProject(s.cfg.ProjectExclude, pr) {
		return false
	}
	return true
}

// countOnly reports whether pr is only counted.
func (s *Scraper) countOnly(pr client.Project) bool {
	return s.cfg.CountOnlyAll || (s.cfg.CountOnly != nil && matchProject(s.cfg.CountOnly, pr))
}
