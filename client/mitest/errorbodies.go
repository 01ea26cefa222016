package mitest

import (
	"net/http"
	"strconv"
)

func appendGatewayBody(b []byte, code string, numeric bool, message, details string) []byte {
	b = append(b, `{"error":{"errorCode":`...)
	if numeric {
		b = append(b, code...)
	} else {
		b = appendJSONString(b, code)
	}
	b = append(b, `,"message":`...)
	b = appendJSONString(b, message)
	if details != "" {
		b = append(b, `,"details":`...)
		b = appendJSONString(b, details)
	}
	return append(b, "}}"...)
}

func (s *Server) writeGateway(w http.ResponseWriter, r *http.Request, af *activeFault, status int, code string, numeric bool, message, details string) {
	s.writeJSON(w, r, af, status, appendGatewayBody(nil, code, numeric, message, details))
}

const notFoundBody = `{"code":"404","message":"Not Found"}`

// noSummaryBody is the 404 of scene-summary/status for an asset that has
// no summary (docs/api.md: the sibling result call documents it).
const noSummaryBody = `{"code":"404","message":"Scene summary not found."}`

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func appendMIBody(b []byte, code, message string) []byte {
	b = append(b, `{"code":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, message)
	return append(b, '}')
}

func appendFaultBody(b []byte, af *activeFault, status int) ([]byte, string) {
	switch af.Body {
	case BodyGateway:
		g, ok := gatewayByCode(af.ErrorCode)
		if !ok {
			g, ok = gatewayByStatus(status)
		}
		if !ok {
			g = GatewayError{Code: "900", Message: "Unexpected Error"}
		}
		code := orDefault(af.ErrorCode, g.Code)
		return appendGatewayBody(b, code, af.ErrorCodeNumeric, orDefault(af.Message, g.Message), "simulated fault"), ctypeJSON
	case BodyMI:
		return appendMIBody(b, orDefault(af.ErrorCode, "10001"), orDefault(af.Message, "Invalid Request.")), ctypeJSON
	case BodyMINested:
		b = append(b, `{"responseError":`...)
		b = appendMIBody(b, orDefault(af.ErrorCode, "10001"), orDefault(af.Message, "Invalid Request."))
		return append(b, '}'), ctypeJSON
	case BodyEmpty:
		return b, ctypeJSON
	case BodyHTML:
		title := strconv.Itoa(status) + " " + http.StatusText(status)
		b = append(b, "<html>\r\n<head><title>"...)
		b = append(b, title...)
		b = append(b, "</title></head>\r\n<body>\r\n<center><h1>"...)
		b = append(b, title...)
		b = append(b, "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"...)
		return b, ctypeHTML
	case BodyPlain:
		return append(b, orDefault(af.Message, "upstream connect error or disconnect/reset before headers. reset reason: connection termination")...), ctypePlain
	case BodyMalformed:
		return append(b, `{"code":"0","message":"success","result":{"content":[{"assetId":1001 "fileName":"a.mp4"},],"totalCount":1`...), ctypeJSON
	}
	return b, ctypeJSON
}
