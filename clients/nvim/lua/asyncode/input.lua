-- `input()` in user code: the daemon's `input` request, asked in the command line; masked
-- for getpass. <C-c> or <Esc> there answers with an error, which raises EOFError.
local client = require('asyncode.client')

local M = {}

local CANCEL = '\1asyncode-cancel'
local BS = vim.api.nvim_replace_termcodes('<BS>', true, false, true)

M.pending = nil -- the request being asked, while it is

--- A prompt that echoes '*' per character. Returns the text, or nil when cancelled.
local function ask_masked(prompt)
  local chars = {}
  while true do
    vim.api.nvim_echo({ { prompt, 'Question' }, { string.rep('*', #chars) } }, false, {})
    vim.cmd('redraw')
    local ok, c = pcall(vim.fn.getcharstr)
    if not ok or c == '\3' or c == '\27' then
      return nil
    elseif c == '\r' or c == '\n' then
      return table.concat(chars)
    elseif c == BS or c == '\8' or c == '\127' then
      table.remove(chars)
    elseif c == '\21' then -- <C-u>
      chars = {}
    elseif #c >= 1 and c:byte(1) ~= 0x80 and c:byte(1) >= 32 then
      table.insert(chars, c)
    end
  end
end

--- The prompt itself: a function(prompt, password) -> text or nil; tests and users may
--- replace it (vim.ui.input is asynchronous, which an `input` answer cannot wait for here).
function M.ask(prompt, password)
  if password then
    return ask_masked(prompt)
  end
  local ok, v = pcall(vim.fn.input, { prompt = prompt, cancelreturn = CANCEL })
  if not ok or v == CANCEL then
    return nil
  end
  return v
end

function M.answer(params)
  M.pending = params
  local value = M.ask(params.prompt or '', params.password)
  M.pending = nil
  vim.cmd('redraw')
  vim.api.nvim_echo({}, false, {})
  if value == nil then
    return nil, { code = vim.lsp.protocol.ErrorCodes.RequestCancelled, message = 'input cancelled' }
  end
  return { value = value }
end

client.handle(client.method.input, M.answer)

-- The daemon withdraws its input request ($/cancelRequest) when input() stops waiting (the
-- run was interrupted, its worker died). The prompt blocks, but scheduled callbacks run
-- while it waits: a <C-c> typed for the user ends it. Only one prompt is up at a time, and
-- the daemon sends $/cancelRequest for nothing else.
client.on(client.method.cancelRequest, function()
  if M.pending and not M.pending.withdrawn then
    M.pending.withdrawn = true
    vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<C-c>', true, false, true), 'n', false)
  end
end)

return M
