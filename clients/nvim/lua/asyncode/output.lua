-- The output buffer `asyncode://output`: everything every run wrote, in order, with ANSI
-- colours as highlights. Text is gathered as it arrives and written at the next flush (the
-- inline renderer's tick), so a burst of chunks costs one buffer update.
local Lines = require('asyncode.lines')
local ansi = require('asyncode.ansi')
local config = require('asyncode.config')
local scratch = require('asyncode.scratch')

local M = {}

local NAME = 'asyncode://output'
local ns = vim.api.nvim_create_namespace('asyncode_output')

local acc = Lines.new({ collect = true })
local ansi_state = { stdout = {}, stderr = {} }
local writer = nil -- key of whoever wrote last (a run id, or 'none')
local last_stream = nil
local partial_shown = false -- the buffer's last line shows acc.cur
local buf = nil
M.dirty = false

local function ensure_buf()
  if buf and vim.api.nvim_buf_is_valid(buf) then
    return buf
  end
  buf = scratch.buffer(NAME, 'asyncode_output')
  partial_shown = false
  return buf
end

function M.bufnr()
  return ensure_buf()
end

local function end_partial()
  if #acc.cur > 0 or acc.cr then
    acc.cr = false
    acc:_finish()
  end
end

local function switch_to(key, header)
  if writer ~= key then
    end_partial()
    writer = key
    last_stream = nil
    if header then
      acc:push({ { header .. '\n', 'AsyncodeHeader' } })
    end
  end
end

--- Text a run (or nobody: run nil) wrote on a stream.
function M.write(run, stream, text)
  switch_to(run and run.id or 'none', run and run:label(run:finished()) or '── output of no run ──')
  if last_stream and last_stream ~= stream then
    end_partial()
  end
  last_stream = stream
  local pieces = ansi.parse(ansi_state[stream] or {}, text)
  if stream == 'stderr' then
    for _, p in ipairs(pieces) do
      p[2] = p[2] or 'AsyncodeStderr'
    end
  end
  acc:push(pieces)
  M.dirty = true
end

--- Whole lines (list of strings or of piece lists) for a run: results, errors, displays.
function M.lines(run, lines, hl)
  switch_to(run and run.id or 'none', run and run:label(run:finished() and not run.answering) or nil)
  end_partial()
  last_stream = nil
  for _, l in ipairs(lines) do
    if type(l) == 'string' then
      acc:push({ { l .. '\n', hl } })
    else
      acc:push(l)
      acc:push({ { '\n' } })
    end
  end
  M.dirty = true
end

--- A run started: its header.
function M.start(run)
  switch_to(run.id, run:label(false))
  M.dirty = true
end

local function line_text_and_hls(line)
  local parts, hls, col = {}, {}, 0
  for _, p in ipairs(line) do
    local t = p[1]
    if p[2] and #t > 0 then
      table.insert(hls, { p[2], col, col + #t })
    end
    col = col + #t
    table.insert(parts, t)
  end
  return table.concat(parts), hls
end

--- Write what was gathered into the buffer.
function M.flush()
  if not M.dirty then
    return
  end
  M.dirty = false
  local b = ensure_buf()
  local rewound = acc.rewound
  local fresh = acc:take()
  local lines = {}
  for _, l in ipairs(fresh) do
    table.insert(lines, l)
  end
  local show_partial = #acc.cur > 0
  if show_partial then
    table.insert(lines, acc.cur)
  end
  if #lines == 0 and not (partial_shown and rewound) then
    return
  end
  local count = vim.api.nvim_buf_line_count(b)
  local first_empty = count == 1 and vim.api.nvim_buf_get_lines(b, 0, 1, false)[1] == ''
  local start = partial_shown and count - 1 or (first_empty and 0 or count)
  local texts, all_hls = {}, {}
  for i, l in ipairs(lines) do
    local t, h = line_text_and_hls(l)
    texts[i] = t
    all_hls[i] = h
  end
  -- windows that follow the end of the buffer keep following it
  local followers = {}
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(w) == b and vim.api.nvim_win_get_cursor(w)[1] >= count then
      table.insert(followers, w)
    end
  end
  scratch.set_lines(b, start, -1, texts)
  for i, hs in ipairs(all_hls) do
    for _, h in ipairs(hs) do
      vim.api.nvim_buf_set_extmark(b, ns, start + i - 1, h[2], { end_col = h[3], hl_group = h[1] })
    end
  end
  partial_shown = show_partial
  local last = vim.api.nvim_buf_line_count(b)
  for _, w in ipairs(followers) do
    pcall(vim.api.nvim_win_set_cursor, w, { last, 0 })
  end
end

--- Empty the buffer.
function M.clear()
  acc = Lines.new({ collect = true })
  writer, last_stream, partial_shown = nil, nil, false
  M.dirty = false
  if buf and vim.api.nvim_buf_is_valid(buf) then
    scratch.set_lines(buf, 0, -1, {})
    vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  end
end

function M.window()
  if not (buf and vim.api.nvim_buf_is_valid(buf)) then
    return nil
  end
  for _, w in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if vim.api.nvim_win_get_buf(w) == buf then
      return w
    end
  end
  return nil
end

--- Show the output window, or close it when it is shown.
function M.toggle()
  local w = M.window()
  if w then
    vim.api.nvim_win_close(w, true)
    return false
  end
  M.open()
  return true
end

function M.open()
  M.flush()
  local b = ensure_buf()
  local w = M.window()
  if w then
    return w
  end
  local opts = config.values.output or {}
  local size = opts.size or 12
  local prev = vim.api.nvim_get_current_win()
  if opts.position == 'float' then
    local width = math.floor(vim.o.columns * 0.8)
    local height = math.floor(vim.o.lines * 0.6)
    w = vim.api.nvim_open_win(b, true, {
      relative = 'editor',
      width = width,
      height = height,
      row = math.floor((vim.o.lines - height) / 2),
      col = math.floor((vim.o.columns - width) / 2),
      border = 'rounded',
    })
  else
    vim.cmd((opts.position == 'right' and 'botright vertical ' or 'botright ') .. size .. 'split')
    w = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(w, b)
  end
  vim.wo[w].number = false
  vim.wo[w].relativenumber = false
  vim.wo[w].wrap = true
  vim.wo[w].list = false
  pcall(vim.api.nvim_win_set_cursor, w, { vim.api.nvim_buf_line_count(b), 0 })
  if opts.position ~= 'float' and vim.api.nvim_win_is_valid(prev) then
    vim.api.nvim_set_current_win(prev)
  end
  return w
end

return M
