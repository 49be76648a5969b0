-- Named scratch buffers (asyncode://output, asyncode://variables): found again by name.
local M = {}

--- The buffer called `name`, made when missing: not a file, hidden when closed, read-only.
function M.buffer(name, filetype)
  local b = vim.fn.bufnr(name)
  if b == -1 then
    b = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(b, name)
  end
  vim.bo[b].buftype = 'nofile'
  vim.bo[b].bufhidden = 'hide'
  vim.bo[b].swapfile = false
  vim.bo[b].modifiable = false
  vim.bo[b].filetype = filetype
  return b
end

--- Replace lines start..end_ (0-based, end-exclusive, -1 for the end) of a read-only buffer.
function M.set_lines(b, start, end_, lines)
  vim.bo[b].modifiable = true
  vim.api.nvim_buf_set_lines(b, start, end_, false, lines)
  vim.bo[b].modifiable = false
end

return M
