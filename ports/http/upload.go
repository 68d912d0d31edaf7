package http

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
)

func (a *API) sample(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="rollcall-sample.csv"`)
	_, _ = w.Write(a.sampleFile)
}

// upload reads the multipart form as it streams: the file goes straight
// into the encrypted store, never whole into memory or in clear to disk.
func (a *API) upload(w http.ResponseWriter, r *http.Request) {
	form, err := ReadUploadForm(w, r, a.wizard, a.uploadLimits)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	cmd, err := form.Command(actorFrom(r.Context()), correlationID(r))
	if err != nil {
		a.wizard.Discard(r.Context(), form.File)
		a.fail(w, r, err)
		return
	}
	imp, err := a.wizard.Upload(r.Context(), cmd)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	shown, err := a.queries.Shown(r.Context(), cmd.Actor, imp)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, shown)
}

// UploadForm is a multipart upload read as it streamed: the file already in
// the encrypted store, the other parts as short texts.
type UploadForm struct {
	File     command.StoredUpload
	FileName string
	Fields   map[string]string
}

// ReadUploadForm reads a multipart upload with a part named "file" (the web
// pages use it too), under the upload's own deadlines instead of the
// server's. The stored file is the caller's to use or Discard once
// ReadUploadForm returned without error.
func ReadUploadForm(w http.ResponseWriter, r *http.Request, wizard *command.ImportWizard, limits UploadLimits) (UploadForm, error) {
	maxUpload := limits.MaxBytes
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return UploadForm{}, failure.New(failure.Unsupported, "unsupported_media_type", "Send the file as multipart/form-data with a part named \"file\".")
	}
	limits.lift(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return UploadForm{}, failure.New(failure.Invalid, "malformed_request", "The upload is not a valid multipart form: %v", err)
	}
	form := UploadForm{Fields: map[string]string{}}
	stored := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if stored {
				wizard.Discard(r.Context(), form.File)
			}
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return UploadForm{}, failure.New(failure.TooLarge, "file_too_large", "The file is larger than %d MiB.", maxUpload>>20)
			}
			return UploadForm{}, failure.New(failure.Invalid, "malformed_request", "The upload could not be read: %v", err)
		}
		if part.FormName() == "file" && !stored {
			form.FileName = part.FileName()
			if form.File, err = wizard.StoreUpload(r.Context(), part); err != nil {
				return UploadForm{}, err
			}
			stored = true
			continue
		}
		value, _ := io.ReadAll(io.LimitReader(part, 1<<10))
		if why := BadText(part.FormName()) + BadText(string(value)); why != "" {
			if stored {
				wizard.Discard(r.Context(), form.File)
			}
			return UploadForm{}, InvalidParameter("The form field %q %s.", truncate(part.FormName(), 40), why)
		}
		form.Fields[part.FormName()] = strings.TrimSpace(string(value))
	}
	if !stored {
		return UploadForm{}, failure.New(failure.Invalid, "file_missing", "Choose a file to upload (a form part named \"file\").")
	}
	return form, nil
}

// Command reads the upload's options.
func (f UploadForm) Command(actor tenancy.Actor, correlationID string) (command.UploadFile, error) {
	cmd := command.UploadFile{Actor: actor, CorrelationID: correlationID, File: f.File, FileName: f.FileName, AccountType: f.Fields["account_type"]}
	switch v := f.Fields["send_welcome_email"]; v {
	case "", "false":
	case "true":
		cmd.SendWelcomeEmail = true
	default:
		return cmd, failure.New(failure.Unprocessable, "invalid_value", "send_welcome_email must be true or false, not %q.", v)
	}
	if v := f.Fields["preset_id"]; v != "" {
		var err error
		if cmd.PresetID, err = uuid.Parse(v); err != nil {
			return cmd, failure.New(failure.Unprocessable, "invalid_value", "preset_id %q is not an id.", v)
		}
	}
	if v := f.Fields["follow_up_of"]; v != "" {
		var err error
		if cmd.FollowUpOf, err = uuid.Parse(v); err != nil {
			return cmd, failure.New(failure.Unprocessable, "invalid_value", "follow_up_of %q is not the id of an import.", v)
		}
	}
	return cmd, nil
}
