-- Errors of runs as vim.diagnostic entries, on the failing line with columns.
local client = require('asyncode.client')
local encoding = require('asyncode.encoding')

local M = {}

M.ns = vim.api.nvim_create_namespace('asyncode_diagnostics')

local by_buffer = {} -- bufnr -> {run id -> list of diagnostics}

local function publish(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) then
    by_buffer[bufnr] = nil
    return
  end
  local all = {}
  for _, list in pairs(by_buffer[bufnr] or {}) do
    for _, d in ipairs(list) do
      table.insert(all, d)
    end
  end
  vim.diagnostic.set(M.ns, bufnr, all)
end

--- Drop the diagnostics that a run made (in every buffer).
function M.drop_run(run)
  for bufnr, runs in pairs(by_buffer) do
    if runs[run.id] then
      runs[run.id] = nil
      publish(bufnr)
    end
  end
end

--- Drop the diagnostics on rows first..last (0-based) of a buffer, whichever run made them.
function M.drop_rows(bufnr, first, last)
  local runs = by_buffer[bufnr]
  if not runs then
    return
  end
  local changed = false
  for id, list in pairs(runs) do
    local keep = {}
    for _, d in ipairs(list) do
      if d.lnum < first or d.lnum > last then
        table.insert(keep, d)
      else
        changed = true
      end
    end
    runs[id] = keep
  end
  if changed then
    publish(bufnr)
  end
end

function M.clear_buffer(bufnr)
  by_buffer[bufnr] = nil
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.diagnostic.reset(M.ns, bufnr)
  end
end

function M.add(run, bufnr, diag)
  by_buffer[bufnr] = by_buffer[bufnr] or {}
  local runs = by_buffer[bufnr]
  runs[run.id] = runs[run.id] or {}
  table.insert(runs[run.id], diag)
  publish(bufnr)
end

local function buf_line(bufnr, row)
  return vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
end

--- Byte columns on buffer row `row` for a wire column range of the code line `code_line`
--- of run `run` (which may have been dedented by run.col_offset bytes).
local function columns(run, bufnr, row, code_line, column, end_column, same_line)
  local line = buf_line(bufnr, row)
  local enc = client.encoding()
  if column == nil then
    local first = line:find('%S') or 1
    return first - 1, #line
  end
  local col = encoding.from_wire(code_line or line, column, enc) + (code_line and run.col_offset or 0)
  local end_col
  if end_column and same_line then
    end_col = encoding.from_wire(code_line or line, end_column, enc) + (code_line and run.col_offset or 0)
  else
    end_col = #line
  end
  col = math.min(col, #line)
  end_col = math.max(math.min(end_col, #line), col)
  return col, end_col
end

local function message(err)
  local msg = err.type or 'Error'
  if err.message and err.message ~= '' then
    msg = msg .. ': ' .. err.message
  end
  return msg
end

--- The code line `line` (1-based, in the daemon's numbering for the run) as the run sent it.
local function code_line_of(run, daemon_line)
  local idx = daemon_line - run.wire_first + 1
  return run.code_lines[idx]
end

--- Where a traceback frame is in a buffer: bufnr, 0-based row, run (or nil).
--- runs: the module `asyncode.runs` (to find runs by count and by file).
local function locate(frame, runs, session)
  local run = runs.by_filename(session, frame.filename, frame.line)
  if run and vim.api.nvim_buf_is_valid(run.bufnr) then
    return run.bufnr, frame.line - run.wire_first + run.first, run
  end
  if frame.filename and frame.filename:sub(1, 1) == '/' then
    local b = vim.fn.bufnr(frame.filename)
    if b ~= -1 and vim.api.nvim_buf_is_loaded(b) then
      return b, frame.line - 1, nil
    end
  end
  return nil
end

local quiet = { KeyboardInterrupt = true, CancelledError = true, Cancelled = true }

--- Turn an ErrorInfo of `run` into diagnostics. done() when they are set.
function M.from_error(run, err, runs, done)
  done = done or function() end
  if not err or quiet[err.type] then
    return done()
  end
  if err.type == 'SyntaxError' or err.type == 'IndentationError' or err.type == 'TabError' then
    if err.line then
      local row = err.line - run.wire_first + run.first
      local code_line = code_line_of(run, err.line)
      local col, end_col = columns(run, run.bufnr, row, code_line, err.column, err.endColumn,
        err.endLine == nil or err.endLine == err.line)
      M.add(run, run.bufnr, { lnum = row, col = col, end_lnum = row, end_col = end_col,
        severity = vim.diagnostic.severity.ERROR, source = 'asyncode', message = message(err) })
      return done()
    end
    -- revision 0 gives no position for an exec's SyntaxError: compile says where
    return runs.compile(run, function(info)
      if info and info.line then
        local row = info.line - 1 + run.first
        local code_line = run.code_lines[info.line]
        local col, end_col = columns(run, run.bufnr, row, code_line, info.column, info.endColumn,
          info.endLine == nil or info.endLine == info.line)
        M.add(run, run.bufnr, { lnum = row, col = col, end_lnum = row, end_col = end_col,
          severity = vim.diagnostic.severity.ERROR, source = 'asyncode', message = message(err) })
      else
        M.add(run, run.bufnr, { lnum = run.last, col = 0, severity = vim.diagnostic.severity.ERROR,
          source = 'asyncode', message = message(err) })
      end
      done()
    end)
  end
  local frames = err.traceback or {}
  for i = #frames, 1, -1 do
    local frame = frames[i]
    local bufnr, row, owner = locate(frame, runs, run.session)
    if bufnr then
      local code_line = owner and code_line_of(owner, frame.line) or nil
      local col, end_col = columns(owner or run, bufnr, row, code_line, frame.column, frame.endColumn,
        frame.endLine == nil or frame.endLine == frame.line)
      M.add(run, bufnr, { lnum = row, col = col, end_lnum = row, end_col = end_col,
        severity = vim.diagnostic.severity.ERROR, source = 'asyncode', message = message(err) })
      return done()
    end
  end
  -- no frame in a buffer (an error raised before any code of ours ran): the run's last line
  M.add(run, run.bufnr, { lnum = run.last, col = 0, severity = vim.diagnostic.severity.ERROR,
    source = 'asyncode', message = message(err) })
  done()
end

return M
